#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // sched_setaffinity, MADV_POPULATE_WRITE
#endif
// Throughput and zero-copy hand-over through the C SPSC ring (cref_ring.h), parent producing,
// child consuming, over an anonymous shared mapping made before fork.
#include "CReference.h"
#include "cref_ring.h"

#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

// The mapping: the ring at 0 (page-aligned, so 64-byte aligned as the ring requires), then the
// child link on a page of its own, away from the ring's lines.
struct ring_mapping {
    void *base;
    size_t size;
    struct cref_ring *ring;
    struct cref_child_link *link;
};

static int ring_mapping_create(struct ring_mapping *mapping, size_t capacity) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t ring_bytes = (cref_ring_byte_count(capacity) + page - 1) / page * page;
    mapping->size = ring_bytes + page;
    mapping->base = cref_shared_map(mapping->size);
    if (mapping->base == NULL) return -1;
    mapping->ring = mapping->base;
    mapping->link = (struct cref_child_link *)((unsigned char *)mapping->base + ring_bytes);
    cref_ring_initialize(mapping->ring, capacity);
    return 0;
}

// Faults the ring's pages in writable in this process, so that neither side pays page faults
// inside the measurement (a shared mapping's page tables are not copied by fork, so each
// process does it). Best effort: before Linux 5.14 the first pass through the ring pays them.
static void ring_prefault(struct ring_mapping *mapping) {
    int error = errno;
    (void)madvise(mapping->base, mapping->size, MADV_POPULATE_WRITE);
    errno = error;
}

// Unmaps the message buffers (of `buffer_size` bytes) and the shared mapping; -1, errno kept.
static int unmap_and_fail(void *outgoing, void *incoming, size_t buffer_size, struct ring_mapping *mapping) {
    int error = errno;
    cref_private_unmap(outgoing, buffer_size);
    cref_private_unmap(incoming, buffer_size);
    if (mapping != NULL) cref_shared_unmap(mapping->base, mapping->size);
    errno = error;
    return -1;
}

int cref_ring_throughput(
    size_t message_size, int messages, size_t capacity, int polling, int cpu_parent, int cpu_child, uint64_t *elapsed_ns) {
    if (!cref_ring_capacity_valid(capacity) || message_size > cref_ring_max_message(capacity) || messages < 0
        || elapsed_ns == NULL) {
        errno = EINVAL;
        return -1;
    }
    *elapsed_ns = 0;
    if (messages == 0) return 0;
    // Both buffers before fork: the child may not allocate (the caller may have other threads).
    unsigned char *outgoing = cref_private_map(message_size);
    unsigned char *incoming = cref_private_map(message_size);
    if (outgoing == NULL || incoming == NULL) return unmap_and_fail(outgoing, incoming, message_size, NULL);
    memset(outgoing, 0x5A, message_size);
    __asm__ __volatile__("" : : "r"(outgoing) : "memory");  // its bytes unknown to the compiler: a real copy
    struct ring_mapping mapping;
    if (ring_mapping_create(&mapping, capacity) != 0) return unmap_and_fail(outgoing, incoming, message_size, NULL);
    ring_prefault(&mapping);
    struct cref_child_link *link = mapping.link;

    struct cref_parent parent;
    pid_t pid = cref_parent_fork(&parent, link, cpu_parent, cpu_child);
    if (pid < 0) return unmap_and_fail(outgoing, incoming, message_size, &mapping);
    if (pid == 0) {
        struct cref_ring_consumer consumer;
        ring_prefault(&mapping);
        memset(incoming, 0, message_size);  // the child's own copy of the buffer, faulted in
        if (cref_ring_consumer_attach(&consumer, mapping.ring, cref_ring_byte_count(capacity)) != 0) cref_child_fail(link);
        cref_child_ready(link);
        for (int i = 0; i < messages; i++) {
            size_t bytes = 0;
            if (polling) {
                int received;
                while ((received = cref_ring_try_receive(&consumer, incoming, message_size, &bytes)) == 0) {}
                if (received < 0) cref_child_fail(link);
            } else if (cref_ring_receive(&consumer, incoming, message_size, &bytes) != 0) {
                cref_child_fail(link);
            }
            if (bytes != message_size) {
                errno = EPROTO;
                cref_child_fail(link);
            }
        }
        atomic_store_explicit(&link->time_ns, cref_clock_ns(), memory_order_release);
        _exit(0);
    }

    struct cref_ring_producer producer;
    if (cref_ring_producer_attach(&producer, mapping.ring, cref_ring_byte_count(capacity)) != 0) {
        cref_parent_abort(&parent, NULL);
        return unmap_and_fail(outgoing, incoming, message_size, &mapping);
    }
    if (cref_parent_await_ready(&parent, link) != 0) return unmap_and_fail(outgoing, incoming, message_size, &mapping);
    uint64_t start = cref_clock_ns();
    for (int i = 0; i < messages; i++) {
        int sent = 0;
        if (polling) {
            uint32_t spins = 0;
            while ((sent = cref_ring_try_send(&producer, outgoing, message_size)) == 0) {
                // Now and then, not to spin forever on a child that died.
                if ((++spins & 0xFFFFF) == 0 && cref_parent_child_gone(&parent)) {
                    errno = ECHILD;
                    sent = -1;
                    break;
                }
            }
        } else {
            sent = cref_ring_send(&producer, outgoing, message_size) == 0 ? 1 : -1;
        }
        if (sent < 0) {
            cref_parent_abort(&parent, link);
            return unmap_and_fail(outgoing, incoming, message_size, &mapping);
        }
    }
    if (cref_parent_end(&parent, link) != 0) return unmap_and_fail(outgoing, incoming, message_size, &mapping);
    uint64_t end = atomic_load_explicit(&link->time_ns, memory_order_acquire);
    *elapsed_ns = end > start ? end - start : 0;
    cref_private_unmap(outgoing, message_size);
    cref_private_unmap(incoming, message_size);
    cref_shared_unmap(mapping.base, mapping.size);
    return 0;
}

// The parent waits, untimed, until the child has released the record it published, spinning on
// the tail as the Swift side spins on its counter. Never by the ring's sleep protocol: a set
// producerSleeping would make the child's release() call FUTEX_WAKE, and the child could still
// be in that call when the next sample is published. Now and then (every 2^20 re-reads) it
// checks that the child is still there, not to spin forever on a dead one.
static int await_release(struct cref_ring_producer *producer, struct cref_parent *parent) {
    struct cref_ring *ring = producer->ring;
    uint32_t spins = 0;
    while (atomic_load_explicit(&ring->tail, memory_order_acquire) != producer->head) {
        if ((++spins & 0xFFFFF) == 0 && cref_parent_child_gone(parent)) {
            errno = ECHILD;
            return -1;
        }
    }
    return 0;
}

int cref_handover_latency(size_t payload_size, int iterations, int cpu_parent, int cpu_child, uint64_t *samples) {
    // The Swift comparison's ring (SharedMemoryComparison's ringCapacity, 2^18), larger only if
    // the payload needs it: records then land at the same offsets on both sides.
    size_t capacity = (size_t)1 << 18;
    while (capacity < (1ul << 31) && cref_ring_max_message(capacity) < payload_size) capacity *= 2;
    if (cref_ring_max_message(capacity) < payload_size || iterations < 0 || (iterations > 0 && samples == NULL)) {
        errno = EINVAL;
        return -1;
    }
    if (iterations == 0) return 0;
    struct ring_mapping mapping;
    if (ring_mapping_create(&mapping, capacity) != 0) return -1;
    ring_prefault(&mapping);
    struct cref_child_link *link = mapping.link;

    struct cref_parent parent;
    pid_t pid = cref_parent_fork(&parent, link, cpu_parent, cpu_child);
    if (pid < 0) return unmap_and_fail(NULL, NULL, 0, &mapping);
    if (pid == 0) {
        struct cref_ring_consumer consumer;
        ring_prefault(&mapping);
        if (cref_ring_consumer_attach(&consumer, mapping.ring, cref_ring_byte_count(capacity)) != 0) cref_child_fail(link);
        cref_child_ready(link);
        for (int i = 0; i < iterations; i++) {
            size_t bytes;
            // Spinning on peek, as the Swift side does: plain re-reads, never sleeping.
            while (cref_ring_peek(&consumer, &bytes) == NULL) {
                if (errno != 0) cref_child_fail(link);
            }
            uint64_t seen = cref_clock_ns();
            if (bytes != payload_size) {
                errno = EPROTO;
                cref_child_fail(link);
            }
            // Published to the parent by the release store of the tail, which the next peek makes
            // on finding the ring empty (the consumer gives room back then, or every batch).
            atomic_store_explicit(&link->time_ns, seen, memory_order_relaxed);
            cref_ring_release(&consumer);
        }
        size_t none;
        (void)cref_ring_peek(&consumer, &none);  // finds the ring empty: gives the last record's room back
        _exit(0);
    }

    struct cref_ring_producer producer;
    if (cref_ring_producer_attach(&producer, mapping.ring, cref_ring_byte_count(capacity)) != 0) {
        cref_parent_abort(&parent, NULL);
        return unmap_and_fail(NULL, NULL, 0, &mapping);
    }
    if (cref_parent_await_ready(&parent, link) != 0) return unmap_and_fail(NULL, NULL, 0, &mapping);
    for (int i = 0; i < iterations; i++) {
        void *slot;
        if (cref_ring_reserve(&producer, payload_size, &slot) != 1) {
            errno = EPROTO;  // cannot happen: the ring is empty and the record fits
            cref_parent_abort(&parent, link);
            return unmap_and_fail(NULL, NULL, 0, &mapping);
        }
        memset(slot, i & 0xFF, payload_size);
        // The payload's writes leave the store buffer before the clock starts: the hand-over, not
        // the writing, is what is timed (the release store of the head would wait for them).
        atomic_thread_fence(memory_order_seq_cst);
        uint64_t published = cref_clock_ns();
        CREF_COMPILER_BARRIER();
        cref_ring_publish(&producer);
        if (await_release(&producer, &parent) != 0) {
            cref_parent_abort(&parent, link);
            return unmap_and_fail(NULL, NULL, 0, &mapping);
        }
        uint64_t seen = atomic_load_explicit(&link->time_ns, memory_order_relaxed);
        // One monotonic clock for both CPUs; a reading that went backwards counts as 0.
        samples[i] = seen > published ? seen - published : 0;
    }
    if (cref_parent_end(&parent, link) != 0) return unmap_and_fail(NULL, NULL, 0, &mapping);
    cref_shared_unmap(mapping.base, mapping.size);
    return 0;
}
