// The C twin of the library's SPSCRing (Sources/SharedMemory/Channel/SPSCRing*.swift): the same
// layout, the same protocol, the same checks of what the other side wrote, the same memory
// orderings and the same wait strategy (SPSCRing.defaultWaitStrategy: 32768 re-reads, then the
// sleep announcement and FUTEX_WAIT), so that a ratio between the two measures the language and
// not the design. Keep it in step with the Swift files. The limit is limit_ring.c, not this.
//
// Layout, each part on its own 64-byte line:
//   0    identifier (u64 "SPSCRNG3", stored last with release), capacity (u64 at 8),
//        producer flags (u32 at 16), consumer flags (u32 at 20): bit 0 "skips the fence"
//   64   head: bytes ever published, written by the producer only; its counters at 72
//   128  tail: bytes ever given back, written by the consumer only; its counters at 136
//        (counters: futex waits, futex wakes, barriers, u64 each)
//   192  consumerSleeping (u64), 200 producerSleeping (u64): 0, or 1 + the position the sleeping
//        side waits to see move; only the publication that moves it from there wakes the sleeper
//   256  `capacity` bytes of records: u64 length word, payload, padding to 8. A length word with
//        bit 63 set (messages of 128 bytes or more, where they fit) puts the payload at the next
//        64-byte boundary after the word instead of right after it: memcpy in and out of a
//        cache-line-aligned payload (4 KiB: from 0.7 to 0.9 of the limit ring on this machine).
// A record that would run past the end is preceded by a wrap marker (UINT64_MAX) and starts
// again at 0, so every message is contiguous; hence at most capacity / 2 - 8 bytes.
//
// The sleep protocol (SPSCRing.pml checks it): positions are published with release stores; a
// process registered for membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) then reads the other side's
// sleeping flag with only a compiler barrier between, an unregistered one with a full fence. A
// side about to sleep stores its flag, issues the membarrier (or a fence), re-checks, and sleeps
// with FUTEX_WAIT. The consumer stores its tail every 4 KiB (a quarter of a smaller ring), or on
// finding the ring empty.
//
// Spinning: like SpinThenWait, plain re-reads with no pause instruction.
#ifndef CREF_RING_H
#define CREF_RING_H

#include "cref_internal.h"

#include <linux/membarrier.h>
#include <string.h>

#define CREF_RING_IDENTIFIER UINT64_C(0x53505343524E4733)  // "SPSCRNG3"
#define CREF_RING_WRAP_MARKER UINT64_MAX
#define CREF_RING_RECORD_HEADER 8
#define CREF_RING_ALIGNED_PAYLOAD (UINT64_C(1) << 63)
#define CREF_RING_ALIGN_FROM 128
#define CREF_RING_SPINS 32768  // SPSCRing.defaultWaitStrategy
#define CREF_RING_SKIPS_FENCE 1u
#define CREF_RING_MAX_CAPACITY (UINT64_C(1) << 31)

enum { CREF_RING_WAITS = 0, CREF_RING_WAKES = 1, CREF_RING_BARRIERS = 2 };

struct cref_ring {
    _Atomic uint64_t identifier;
    uint64_t capacity;
    _Atomic uint32_t producer_flags;
    _Atomic uint32_t consumer_flags;
    _Alignas(64) _Atomic uint64_t head;
    _Atomic uint64_t producer_counters[3];
    _Alignas(64) _Atomic uint64_t tail;
    _Atomic uint64_t consumer_counters[3];
    _Alignas(64) _Atomic uint64_t consumer_sleeping;
    _Atomic uint64_t producer_sleeping;
    char padding[48];
};
_Static_assert(offsetof(struct cref_ring, capacity) == 8, "capacity at 8");
_Static_assert(offsetof(struct cref_ring, producer_flags) == 16, "producer flags at 16");
_Static_assert(offsetof(struct cref_ring, head) == 64, "head at 64");
_Static_assert(offsetof(struct cref_ring, producer_counters) == 72, "producer counters at 72");
_Static_assert(offsetof(struct cref_ring, tail) == 128, "tail at 128");
_Static_assert(offsetof(struct cref_ring, consumer_counters) == 136, "consumer counters at 136");
_Static_assert(offsetof(struct cref_ring, consumer_sleeping) == 192, "consumerSleeping at 192");
_Static_assert(offsetof(struct cref_ring, producer_sleeping) == 200, "producerSleeping at 200");
_Static_assert(sizeof(struct cref_ring) == 256, "data at 256");

static inline size_t cref_ring_byte_count(size_t capacity) { return sizeof(struct cref_ring) + capacity; }
static inline unsigned char *cref_ring_data(struct cref_ring *ring) { return (unsigned char *)ring + sizeof(struct cref_ring); }
static inline size_t cref_ring_max_message(size_t capacity) { return capacity / 2 - CREF_RING_RECORD_HEADER; }
// The length word for a message: bit 63 asks for a 64-byte-aligned payload, where the record
// fits at any position (its payload rounded to 8 at most capacity / 2 - 64).
static inline uint64_t cref_ring_length_word(size_t message, uint64_t capacity) {
    uint64_t padded = ((uint64_t)message + 7) & ~(uint64_t)7;
    return message >= CREF_RING_ALIGN_FROM && padded <= capacity / 2 - 64 ? (uint64_t)message | CREF_RING_ALIGNED_PAYLOAD
                                                                          : (uint64_t)message;
}
// Where the payload of a record at data offset `offset` starts, and where the record ends.
static inline uint64_t cref_ring_payload_offset(uint64_t offset, uint64_t word) {
    return word & CREF_RING_ALIGNED_PAYLOAD ? (offset + CREF_RING_RECORD_HEADER + 63) & ~(uint64_t)63 : offset + CREF_RING_RECORD_HEADER;
}
static inline uint64_t cref_ring_record_end(uint64_t offset, uint64_t word) {
    return cref_ring_payload_offset(offset, word) + (((word & ~CREF_RING_ALIGNED_PAYLOAD) + 7) & ~(uint64_t)7);
}

static inline int cref_ring_capacity_valid(uint64_t capacity) {
    return capacity >= 64 && (capacity & (capacity - 1)) == 0 && capacity <= CREF_RING_MAX_CAPACITY;
}

// SPSCRing.initialize on zeroed memory (64-byte aligned): the identifier last, so that a side
// attaching early sees no ring rather than half of one.
static inline void cref_ring_initialize(struct cref_ring *ring, size_t capacity) {
    memset(ring, 0, sizeof *ring);
    ring->capacity = capacity;
    atomic_store_explicit(&ring->identifier, CREF_RING_IDENTIFIER, memory_order_release);
}

// ProcessBarrier.registered: once per process (not inherited by a forked child, which asks again).
static inline int cref_ring_register(void) {
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
}

// Shared.init and positions(): the ring there, its capacity, head and tail as the layout allows
// (EPROTO otherwise, where Swift throws); the side's flag stored. `region_bytes` is what the
// mapping holds from the ring's start.
static inline int cref_ring_check(struct cref_ring *ring, size_t region_bytes, uint64_t *head, uint64_t *tail) {
    uint64_t identifier = atomic_load_explicit(&ring->identifier, memory_order_acquire);
    uint64_t capacity = ring->capacity;
    if (identifier != CREF_RING_IDENTIFIER || !cref_ring_capacity_valid(capacity)
        || capacity > region_bytes - sizeof(struct cref_ring)) {
        errno = EPROTO;
        return -1;
    }
    *head = atomic_load_explicit(&ring->head, memory_order_acquire);
    *tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    if (*head % 8 != 0 || *tail % 8 != 0 || *head - *tail > capacity) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

// Counters have one writer each: a plain read and write, no locked instruction.
static inline void cref_ring_count(_Atomic uint64_t *counter) {
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1, memory_order_relaxed);
}

// orderPublicationBeforeSleepCheck()
static inline void cref_ring_order_publication(int process_barrier) {
    if (process_barrier) CREF_COMPILER_BARRIER();
    else atomic_thread_fence(memory_order_seq_cst);
}

// Shared.sleep: announce `position + 1`, barrier, re-check the low half of `word` (the other
// side's position), sleep while it holds the low half of `position`. -1 with errno only if
// FUTEX_WAIT fails for a reason other than a changed value or a signal (what the Swift side
// throws for). No timeout (the comparison never uses one).
static inline int cref_ring_sleep(struct cref_ring *ring, int consumer, int process_barrier, _Atomic uint64_t *word, uint64_t position) {
    _Atomic uint64_t *flag = consumer ? &ring->consumer_sleeping : &ring->producer_sleeping;
    _Atomic uint64_t *counters = consumer ? ring->consumer_counters : ring->producer_counters;
    uint32_t expected = (uint32_t)position;
    cref_ring_count(&counters[CREF_RING_BARRIERS]);
    atomic_store_explicit(flag, position + 1, memory_order_relaxed);
    int wake_guaranteed = 1;
    if (!(process_barrier && syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0)) {
        atomic_thread_fence(memory_order_seq_cst);
        _Atomic uint32_t *peer_flags = consumer ? &ring->producer_flags : &ring->consumer_flags;
        wake_guaranteed = (atomic_load_explicit(peer_flags, memory_order_relaxed) & CREF_RING_SKIPS_FENCE) == 0;
    }
    int result = 0;
    if ((uint32_t)atomic_load_explicit(word, memory_order_acquire) == expected) {
        cref_ring_count(&counters[CREF_RING_WAITS]);
        struct timespec slice = {0, 1000 * 1000};
        if (cref_futex_wait(cref_futex_word(word), expected, wake_guaranteed ? NULL : &slice) != 0 && errno != EAGAIN
            && errno != EINTR && errno != ETIMEDOUT) {
            result = -1;
        }
    }
    atomic_store_explicit(flag, 0, memory_order_relaxed);
    return result;
}

// Shared.wake: the sleeper is the consumer (woken on the head) or the producer (on the tail).
static inline void cref_ring_wake(struct cref_ring *ring, int consumer) {
    cref_ring_count(&(consumer ? ring->producer_counters : ring->consumer_counters)[CREF_RING_WAKES]);
    (void)cref_futex_wake(cref_futex_word(consumer ? &ring->head : &ring->tail), 1);
}

// ---- Producer (SPSCRingProducer.swift) --------------------------------------------------------

struct cref_ring_producer {
    struct cref_ring *ring;
    unsigned char *data;
    uint64_t capacity;
    uint64_t head;        // bytes published so far (the shared head, which only this side writes)
    uint64_t known_tail;  // the consumer's tail as last read and checked: re-read only when the ring looks full
    uint64_t reserved_start;
    uint64_t reserved_word;  // the record's length word
    uint64_t reserved_end;   // the head after it
    int reserved;
    int process_barrier;
};

static inline int cref_ring_producer_attach(struct cref_ring_producer *producer, struct cref_ring *ring, size_t region_bytes) {
    if (cref_ring_check(ring, region_bytes, &producer->head, &producer->known_tail) != 0) return -1;
    producer->ring = ring;
    producer->data = cref_ring_data(ring);
    producer->capacity = ring->capacity;
    producer->reserved = 0;
    producer->process_barrier = cref_ring_register();
    atomic_store_explicit(&ring->producer_flags, producer->process_barrier ? CREF_RING_SKIPS_FENCE : 0, memory_order_relaxed);
    return 0;
}

// reserve(_:): 1 with `*slot` set to `bytes` writable bytes in place, 0 if there is no room now,
// -1 with EMSGSIZE if the message can never fit, EPROTO if the tail breaks the layout.
static inline int cref_ring_reserve(struct cref_ring_producer *producer, size_t bytes, void **slot) {
    if (bytes > cref_ring_max_message(producer->capacity)) {
        errno = EMSGSIZE;
        return -1;
    }
    uint64_t word = cref_ring_length_word(bytes, producer->capacity);
    uint64_t mask = producer->capacity - 1;
    uint64_t position = producer->head & mask;
    uint64_t end = cref_ring_record_end(position, word);
    // A record never wraps: if it would, a marker fills the rest and it starts at 0.
    int wraps = end > producer->capacity;
    if (wraps) end = producer->capacity + cref_ring_record_end(0, word);
    uint64_t needed = end - position;
    if (producer->head - producer->known_tail + needed > producer->capacity) {
        uint64_t tail = atomic_load_explicit(&producer->ring->tail, memory_order_acquire);
        // Between the tail last seen and the head: never backwards, never past the head.
        if (tail % 8 != 0 || tail - producer->known_tail > producer->head - producer->known_tail) {
            errno = EPROTO;
            return -1;
        }
        producer->known_tail = tail;
        if (producer->head - tail + needed > producer->capacity) return 0;
    }
    uint64_t start = producer->head;
    if (wraps) {
        uint64_t marker = CREF_RING_WRAP_MARKER;
        memcpy(producer->data + position, &marker, sizeof marker);
        start = producer->head + (producer->capacity - position);
    }
    producer->reserved_start = start;
    producer->reserved_word = word;
    producer->reserved_end = producer->head + needed;
    producer->reserved = 1;
    *slot = producer->data + cref_ring_payload_offset(start & mask, word);
    return 1;
}

// publish(): makes the reserved message visible, and wakes the consumer if it announced sleep.
static inline void cref_ring_publish(struct cref_ring_producer *producer) {
    if (!producer->reserved) return;
    producer->reserved = 0;
    uint64_t word = producer->reserved_word;
    memcpy(producer->data + (producer->reserved_start & (producer->capacity - 1)), &word, sizeof word);
    uint64_t previous = producer->head;
    producer->head = producer->reserved_end;
    atomic_store_explicit(&producer->ring->head, producer->head, memory_order_release);
    cref_ring_order_publication(producer->process_barrier);
    // A consumer asleep until the head moves from where it just was.
    if (atomic_load_explicit(&producer->ring->consumer_sleeping, memory_order_relaxed) == previous + 1) cref_ring_wake(producer->ring, 1);
}

// trySend(_:): 1 sent, 0 no room now, -1 (errno) as reserve.
static inline int cref_ring_try_send(struct cref_ring_producer *producer, const void *message, size_t bytes) {
    void *slot;
    int reserved = cref_ring_reserve(producer, bytes, &slot);
    if (reserved <= 0) return reserved;
    if (bytes > 0) memcpy(slot, message, bytes);
    cref_ring_publish(producer);
    return 1;
}

// send(_:) without a timeout: waitForRoom (spin, then announce and sleep on the tail), copy, publish.
static inline int cref_ring_send(struct cref_ring_producer *producer, const void *message, size_t bytes) {
    int sent = cref_ring_try_send(producer, message, bytes);
    for (int spin = 0; sent == 0 && spin < CREF_RING_SPINS; spin++) sent = cref_ring_try_send(producer, message, bytes);
    while (sent == 0) {
        if (cref_ring_sleep(producer->ring, 0, producer->process_barrier, &producer->ring->tail, producer->known_tail) != 0) {
            return -1;
        }
        sent = cref_ring_try_send(producer, message, bytes);
    }
    return sent > 0 ? 0 : -1;
}

// ---- Consumer (SPSCRingConsumer.swift) --------------------------------------------------------

struct cref_ring_consumer {
    struct cref_ring *ring;
    unsigned char *data;
    uint64_t capacity;
    uint64_t tail;            // bytes consumed so far
    uint64_t published_tail;  // the tail as last stored: room given back
    uint64_t known_head;      // the producer's head as last read and checked: re-read only when the ring looks empty
    uint64_t return_batch;
    uint64_t peeked_end;
    int peeked;
    int process_barrier;
};

static inline int cref_ring_consumer_attach(struct cref_ring_consumer *consumer, struct cref_ring *ring, size_t region_bytes) {
    if (cref_ring_check(ring, region_bytes, &consumer->known_head, &consumer->tail) != 0) return -1;
    consumer->ring = ring;
    consumer->data = cref_ring_data(ring);
    consumer->capacity = ring->capacity;
    consumer->published_tail = consumer->tail;
    consumer->return_batch = consumer->capacity / 4 < 4096 ? consumer->capacity / 4 : 4096;
    consumer->peeked = 0;
    consumer->process_barrier = cref_ring_register();
    atomic_store_explicit(&ring->consumer_flags, consumer->process_barrier ? CREF_RING_SKIPS_FENCE : 0, memory_order_relaxed);
    return 0;
}

// publishTail(): gives the room released so far back, and wakes the producer if it announced sleep.
static inline void cref_ring_publish_tail(struct cref_ring_consumer *consumer) {
    uint64_t previous = consumer->published_tail;
    consumer->published_tail = consumer->tail;
    atomic_store_explicit(&consumer->ring->tail, consumer->tail, memory_order_release);
    cref_ring_order_publication(consumer->process_barrier);
    // A producer asleep until the tail moves from where it just was.
    if (atomic_load_explicit(&consumer->ring->producer_sleeping, memory_order_relaxed) == previous + 1) cref_ring_wake(consumer->ring, 0);
}

// peek(): the next message in place and its length, or NULL if the ring is empty now (errno 0)
// or the head or the record breaks the layout (errno EPROTO).
static inline const void *cref_ring_peek(struct cref_ring_consumer *consumer, size_t *bytes) {
    if (consumer->known_head == consumer->tail) {
        if (consumer->published_tail != consumer->tail) cref_ring_publish_tail(consumer);
        uint64_t head = atomic_load_explicit(&consumer->ring->head, memory_order_acquire);
        if (head % 8 != 0 || head - consumer->tail > consumer->capacity) {
            errno = EPROTO;
            return NULL;
        }
        consumer->known_head = head;
        if (head == consumer->tail) {
            errno = 0;
            return NULL;
        }
    }
    uint64_t available = consumer->known_head - consumer->tail;
    uint64_t offset = consumer->tail & (consumer->capacity - 1);
    uint64_t skipped = 0;
    uint64_t length;
    memcpy(&length, consumer->data + offset, sizeof length);
    if (length == CREF_RING_WRAP_MARKER) {
        skipped = consumer->capacity - offset;
        if (offset == 0 || skipped >= available) {
            errno = EPROTO;
            return NULL;
        }
        offset = 0;
        memcpy(&length, consumer->data, sizeof length);
    }
    uint64_t bytes_in_word = length & ~CREF_RING_ALIGNED_PAYLOAD;
    if (bytes_in_word > cref_ring_max_message(consumer->capacity)
        || (length != bytes_in_word && bytes_in_word < CREF_RING_ALIGN_FROM)) {
        errno = EPROTO;
        return NULL;
    }
    uint64_t end = cref_ring_record_end(offset, length);
    if (end > consumer->capacity || skipped + (end - offset) > available) {
        errno = EPROTO;
        return NULL;
    }
    consumer->peeked_end = consumer->tail + skipped + (end - offset);
    consumer->peeked = 1;
    *bytes = (size_t)bytes_in_word;
    return consumer->data + cref_ring_payload_offset(offset, length);
}

// release(): lets the peeked message go; its room returns with the next batch.
static inline void cref_ring_release(struct cref_ring_consumer *consumer) {
    if (!consumer->peeked) return;
    consumer->peeked = 0;
    consumer->tail = consumer->peeked_end;
    if (consumer->tail - consumer->published_tail >= consumer->return_batch) cref_ring_publish_tail(consumer);
}

// copyAndRelease: 1 with `*bytes` copied into `buffer`, -1 (EMSGSIZE) if the buffer is too small
// (the message stays in the ring).
static inline int cref_ring_copy_and_release(
    struct cref_ring_consumer *consumer, const void *message, size_t length, void *buffer, size_t capacity, size_t *bytes) {
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

// tryReceive(into:): 1 with `*bytes` copied into `buffer`, 0 if empty, -1 (errno) as peek or
// copyAndRelease.
static inline int cref_ring_try_receive(struct cref_ring_consumer *consumer, void *buffer, size_t capacity, size_t *bytes) {
    size_t length;
    const void *message = cref_ring_peek(consumer, &length);
    if (message == NULL) return errno == 0 ? 0 : -1;
    return cref_ring_copy_and_release(consumer, message, length, buffer, capacity, bytes);
}

// waitForMessage() without a timeout: the next message in place (release() after reading),
// spinning first, then announcing and sleeping on the head. NULL with errno on failure.
static inline const void *cref_ring_wait_for_message(struct cref_ring_consumer *consumer, size_t *bytes) {
    const void *message = cref_ring_peek(consumer, bytes);
    for (int spin = 0; message == NULL && errno == 0 && spin < CREF_RING_SPINS; spin++) message = cref_ring_peek(consumer, bytes);
    while (message == NULL && errno == 0) {
        if (cref_ring_sleep(consumer->ring, 1, consumer->process_barrier, &consumer->ring->head, consumer->tail) != 0) {
            return NULL;
        }
        message = cref_ring_peek(consumer, bytes);
    }
    return message;
}

// receive(into:) without a timeout: waits, then copies.
static inline int cref_ring_receive(struct cref_ring_consumer *consumer, void *buffer, size_t capacity, size_t *bytes) {
    size_t length;
    const void *message = cref_ring_wait_for_message(consumer, &length);
    if (message == NULL) return -1;
    return cref_ring_copy_and_release(consumer, message, length, buffer, capacity, bytes) > 0 ? 0 : -1;
}

#endif
