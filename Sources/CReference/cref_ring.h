// The C twin of the library's SPSCRing (Sources/SharedMemory/Channel/SPSCRing*.swift): the same
// layout, the same protocol, the same memory orderings and the same wait strategy
// (SpinThenWait: 256 re-reads, then FUTEX_WAIT), so that a ratio between the two measures the
// language and not the design. Keep it in step with the Swift files.
//
// Layout, each part on its own 64-byte line:
//   0    identifier (u64 "SPSCRING", stored last with release), capacity (u64 at 8)
//   64   head: bytes ever published, written by the producer only
//   128  tail: bytes ever consumed, written by the consumer only
//   192  consumerSleeping (u32), 196 producerSleeping (u32): written by the side about to sleep
//   256  `capacity` bytes of records: u64 length, payload, padding to 8
// A record that would run past the end is preceded by a wrap marker (UINT64_MAX) and starts
// again at 0, so every message is contiguous; hence at most capacity / 2 - 8 bytes.
//
// Where Swift loads the 32-bit futex word (the low half of head or tail), this loads the whole
// 64-bit word and keeps its low half: the same instruction cost and value, without mixing
// access sizes on one C11 atomic object.
//
// Spinning: like SpinThenWait, plain re-reads with no pause instruction.
#ifndef CREF_RING_H
#define CREF_RING_H

#include "cref_internal.h"

#include <string.h>

#define CREF_RING_IDENTIFIER UINT64_C(0x5350534352494E47)  // "SPSCRING"
#define CREF_RING_WRAP_MARKER UINT64_MAX
#define CREF_RING_RECORD_HEADER 8
#define CREF_RING_SPINS 256  // SpinThenWait's default

struct cref_ring {
    _Atomic uint64_t identifier;
    uint64_t capacity;
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) _Atomic uint32_t consumer_sleeping;
    _Atomic uint32_t producer_sleeping;
};
_Static_assert(offsetof(struct cref_ring, capacity) == 8, "capacity at 8");
_Static_assert(offsetof(struct cref_ring, head) == 64, "head at 64");
_Static_assert(offsetof(struct cref_ring, tail) == 128, "tail at 128");
_Static_assert(offsetof(struct cref_ring, consumer_sleeping) == 192, "consumerSleeping at 192");
_Static_assert(offsetof(struct cref_ring, producer_sleeping) == 196, "producerSleeping at 196");
_Static_assert(sizeof(struct cref_ring) == 256, "data at 256");

static inline size_t cref_ring_byte_count(size_t capacity) { return sizeof(struct cref_ring) + capacity; }
static inline unsigned char *cref_ring_data(struct cref_ring *ring) { return (unsigned char *)ring + sizeof(struct cref_ring); }
static inline size_t cref_ring_max_message(size_t capacity) { return capacity / 2 - CREF_RING_RECORD_HEADER; }
static inline uint64_t cref_ring_record_bytes(size_t message) {
    return CREF_RING_RECORD_HEADER + (((uint64_t)message + 7) & ~(uint64_t)7);
}

static inline int cref_ring_capacity_valid(size_t capacity) {
    return capacity >= 64 && (capacity & (capacity - 1)) == 0 && capacity <= UINT32_MAX;
}

// SPSCRing.initialize on zeroed memory (64-byte aligned): the identifier last, so that a side
// attaching early sees no ring rather than half of one.
static inline void cref_ring_initialize(struct cref_ring *ring, size_t capacity) {
    memset(ring, 0, sizeof *ring);
    ring->capacity = capacity;
    atomic_store_explicit(&ring->identifier, CREF_RING_IDENTIFIER, memory_order_release);
}

static inline int cref_ring_check(struct cref_ring *ring) {
    uint64_t identifier = atomic_load_explicit(&ring->identifier, memory_order_acquire);
    if (identifier != CREF_RING_IDENTIFIER || !cref_ring_capacity_valid(ring->capacity)) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

// SpinThenWait.wait(on:whileValueIs:) without a timeout: returns once the low half of `word` no
// longer holds `value`. -1 with errno only if FUTEX_WAIT fails for a reason other than a
// changed value or a signal (what the Swift side throws for).
static inline int cref_ring_spin_then_wait(_Atomic uint64_t *word, uint32_t value) {
    for (int spin = 0; spin < CREF_RING_SPINS; spin++) {
        if ((uint32_t)atomic_load_explicit(word, memory_order_acquire) != value) return 0;
    }
    while ((uint32_t)atomic_load_explicit(word, memory_order_acquire) == value) {
        if (cref_futex_wait(cref_futex_word(word), value, NULL) != 0 && errno != EAGAIN && errno != EINTR) return -1;
    }
    return 0;
}

// ---- Producer (SPSCRingProducer.swift) --------------------------------------------------------

struct cref_ring_producer {
    struct cref_ring *ring;
    unsigned char *data;
    uint64_t capacity;
    uint64_t head;        // bytes published so far (the shared head, which only this side writes)
    uint64_t known_tail;  // the consumer's tail as last read: re-read only when the ring looks full
    uint64_t reserved_start;
    size_t reserved_bytes;
    int reserved;
};

static inline int cref_ring_producer_attach(struct cref_ring_producer *producer, struct cref_ring *ring) {
    if (cref_ring_check(ring) != 0) return -1;
    producer->ring = ring;
    producer->data = cref_ring_data(ring);
    producer->capacity = ring->capacity;
    producer->head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    producer->known_tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    producer->reserved = 0;
    return 0;
}

// reserve(_:): 1 with `*slot` set to `bytes` writable bytes in place, 0 if there is no room now,
// -1 (EMSGSIZE) if the message can never fit (what Swift throws).
static inline int cref_ring_reserve(struct cref_ring_producer *producer, size_t bytes, void **slot) {
    if (bytes > cref_ring_max_message(producer->capacity)) {
        errno = EMSGSIZE;
        return -1;
    }
    uint64_t record = cref_ring_record_bytes(bytes);
    uint64_t mask = producer->capacity - 1;
    uint64_t position = producer->head & mask;
    uint64_t until_end = producer->capacity - position;
    // A record never wraps: if it would, a marker fills the rest and it starts at 0.
    uint64_t needed = record <= until_end ? record : until_end + record;
    if (producer->head - producer->known_tail + needed > producer->capacity) {
        producer->known_tail = atomic_load_explicit(&producer->ring->tail, memory_order_acquire);
        if (producer->head - producer->known_tail + needed > producer->capacity) return 0;
    }
    uint64_t start = producer->head;
    if (record > until_end) {
        uint64_t marker = CREF_RING_WRAP_MARKER;
        memcpy(producer->data + position, &marker, sizeof marker);
        start = producer->head + until_end;
    }
    producer->reserved_start = start;
    producer->reserved_bytes = bytes;
    producer->reserved = 1;
    *slot = producer->data + (start & mask) + CREF_RING_RECORD_HEADER;
    return 1;
}

// publish(): makes the reserved message visible, and wakes the consumer if it sleeps.
static inline void cref_ring_publish(struct cref_ring_producer *producer) {
    if (!producer->reserved) return;
    producer->reserved = 0;
    uint64_t start = producer->reserved_start;
    uint64_t length = producer->reserved_bytes;
    memcpy(producer->data + (start & (producer->capacity - 1)), &length, sizeof length);
    producer->head = start + cref_ring_record_bytes(producer->reserved_bytes);
    // Sequentially consistent store and load: a consumer that set its flag and then saw no new
    // head is certain to be seen sleeping here, so no wake-up is lost.
    atomic_store_explicit(&producer->ring->head, producer->head, memory_order_seq_cst);
    if (atomic_load_explicit(&producer->ring->consumer_sleeping, memory_order_seq_cst) != 0) {
        (void)cref_futex_wake(cref_futex_word(&producer->ring->head), 1);
    }
}

// trySend(_:): 1 sent, 0 no room now, -1 (EMSGSIZE) never fits.
static inline int cref_ring_try_send(struct cref_ring_producer *producer, const void *message, size_t bytes) {
    void *slot;
    int reserved = cref_ring_reserve(producer, bytes, &slot);
    if (reserved <= 0) return reserved;
    if (bytes > 0) memcpy(slot, message, bytes);
    cref_ring_publish(producer);
    return 1;
}

// send(_:) without a timeout: waits for room, spinning first, then sleeping on the tail.
static inline int cref_ring_send(struct cref_ring_producer *producer, const void *message, size_t bytes) {
    struct cref_ring *ring = producer->ring;
    for (;;) {
        int sent = cref_ring_try_send(producer, message, bytes);
        if (sent != 0) return sent > 0 ? 0 : -1;
        // The tail the failed attempt saw: sleep only while it has not moved since.
        uint64_t tail = producer->known_tail;
        atomic_store_explicit(&ring->producer_sleeping, 1, memory_order_seq_cst);
        int waited = 0;
        if (atomic_load_explicit(&ring->tail, memory_order_seq_cst) == tail) {
            waited = cref_ring_spin_then_wait(&ring->tail, (uint32_t)tail);
        }
        atomic_store_explicit(&ring->producer_sleeping, 0, memory_order_relaxed);
        if (waited != 0) return -1;
    }
}

// ---- Consumer (SPSCRingConsumer.swift) --------------------------------------------------------

struct cref_ring_consumer {
    struct cref_ring *ring;
    unsigned char *data;
    uint64_t capacity;
    uint64_t tail;        // bytes consumed so far (the shared tail, which only this side writes)
    uint64_t known_head;  // the producer's head as last read: re-read only when the ring looks empty
    uint64_t peeked_end;
    int peeked;
};

static inline int cref_ring_consumer_attach(struct cref_ring_consumer *consumer, struct cref_ring *ring) {
    if (cref_ring_check(ring) != 0) return -1;
    consumer->ring = ring;
    consumer->data = cref_ring_data(ring);
    consumer->capacity = ring->capacity;
    consumer->tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    consumer->known_head = atomic_load_explicit(&ring->head, memory_order_acquire);
    consumer->peeked = 0;
    return 0;
}

// peek(): the next message in place and its length, or NULL if the ring is empty now.
static inline const void *cref_ring_peek(struct cref_ring_consumer *consumer, size_t *bytes) {
    if (consumer->known_head == consumer->tail) {
        consumer->known_head = atomic_load_explicit(&consumer->ring->head, memory_order_acquire);
        if (consumer->known_head == consumer->tail) return NULL;
    }
    uint64_t offset = consumer->tail & (consumer->capacity - 1);
    uint64_t start = consumer->tail;
    uint64_t length;
    memcpy(&length, consumer->data + offset, sizeof length);
    if (length == CREF_RING_WRAP_MARKER) {
        start = consumer->tail + (consumer->capacity - offset);
        offset = 0;
        memcpy(&length, consumer->data, sizeof length);
    }
    consumer->peeked_end = start + cref_ring_record_bytes((size_t)length);
    consumer->peeked = 1;
    *bytes = (size_t)length;
    return consumer->data + offset + CREF_RING_RECORD_HEADER;
}

// release(): gives the peeked message's room back, and wakes the producer if it sleeps.
static inline void cref_ring_release(struct cref_ring_consumer *consumer) {
    if (!consumer->peeked) return;
    consumer->peeked = 0;
    consumer->tail = consumer->peeked_end;
    atomic_store_explicit(&consumer->ring->tail, consumer->tail, memory_order_seq_cst);
    if (atomic_load_explicit(&consumer->ring->producer_sleeping, memory_order_seq_cst) != 0) {
        (void)cref_futex_wake(cref_futex_word(&consumer->ring->tail), 1);
    }
}

// tryReceive(into:): 1 with `*bytes` copied into `buffer`, 0 if empty, -1 (EMSGSIZE) if the
// buffer is too small (the message stays in the ring).
static inline int cref_ring_try_receive(struct cref_ring_consumer *consumer, void *buffer, size_t capacity, size_t *bytes) {
    size_t length;
    const void *message = cref_ring_peek(consumer, &length);
    if (message == NULL) return 0;
    if (length > capacity) {
        consumer->peeked = 0;
        errno = EMSGSIZE;
        return -1;
    }
    if (length > 0) memcpy(buffer, message, length);
    cref_ring_release(consumer);
    *bytes = length;
    return 1;
}

// waitForMessage() without a timeout: the next message in place (release() after reading),
// spinning first, then sleeping on the head. NULL with errno only if FUTEX_WAIT fails.
static inline const void *cref_ring_wait_for_message(struct cref_ring_consumer *consumer, size_t *bytes) {
    struct cref_ring *ring = consumer->ring;
    for (;;) {
        const void *message = cref_ring_peek(consumer, bytes);
        if (message != NULL) return message;
        atomic_store_explicit(&ring->consumer_sleeping, 1, memory_order_seq_cst);
        int waited = 0;
        if (atomic_load_explicit(&ring->head, memory_order_seq_cst) == consumer->tail) {
            waited = cref_ring_spin_then_wait(&ring->head, (uint32_t)consumer->tail);
        }
        atomic_store_explicit(&ring->consumer_sleeping, 0, memory_order_relaxed);
        if (waited != 0) return NULL;
    }
}

// receive(into:) without a timeout: waits, then copies (tryReceive peeks again, as in Swift).
static inline int cref_ring_receive(struct cref_ring_consumer *consumer, void *buffer, size_t capacity, size_t *bytes) {
    if (cref_ring_wait_for_message(consumer, bytes) == NULL) return -1;
    return cref_ring_try_receive(consumer, buffer, capacity, bytes) > 0 ? 0 : -1;
}

#endif
