#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // sched_setaffinity, MADV_POPULATE_WRITE
#endif
// The limit of every ring figure: the fastest SPSC ring plain C does on this hardware, not a copy
// of the library's design. Fixed slots (the message size rounded up to a power of two, at least
// one 64-byte line), so there is no length word and no wrap marker; head and tail count messages,
// each on its own line, published with release stores and read with acquire loads; each side
// keeps a cached copy of the other side's index and re-reads it only when the cached one says
// full or empty; both sides only spin, re-reading and then waiting a `pause` while there is
// nothing to do (faster than bare re-reads here: 64 B went from about 22 to 38 M msg/s, as the
// re-reads no longer flood the line the other side is about to write), so nothing here can sleep
// and nothing pays for being able to. memcpy in and out.
#include "CReference.h"
#include "cref_internal.h"

#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/// x86 `pause`, Arm `yield`: the spin-wait hint, after a re-read that found nothing to do.
static inline void pause_while_waiting(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct limit_ring {
    _Alignas(64) _Atomic uint64_t head;  // messages ever published, written by the producer only
    _Alignas(64) _Atomic uint64_t tail;  // messages ever consumed, written by the consumer only
    _Alignas(64) struct cref_child_link link;
};

static size_t slot_size_for(size_t message_size) {
    size_t slot = 64;
    while (slot < message_size) slot *= 2;
    return slot;
}

int cref_limit_ring_throughput(size_t message_size, int messages, size_t capacity, int cpu_parent, int cpu_child, uint64_t *elapsed_ns) {
    size_t slot_size = slot_size_for(message_size);
    if (capacity < 64 || (capacity & (capacity - 1)) != 0 || capacity < 2 * slot_size || message_size == 0 || messages < 0
        || elapsed_ns == NULL) {
        errno = EINVAL;
        return -1;
    }
    *elapsed_ns = 0;
    if (messages == 0) return 0;
    uint64_t slot_mask = capacity / slot_size - 1;  // both powers of two
    // Both buffers before fork: the child may not allocate (the caller may have other threads).
    unsigned char *outgoing = cref_private_map(message_size);
    unsigned char *incoming = cref_private_map(message_size);
    size_t mapping_size = sizeof(struct limit_ring) + capacity;
    struct limit_ring *ring = outgoing != NULL && incoming != NULL ? cref_shared_map(mapping_size) : NULL;
    if (ring == NULL) {
        cref_private_unmap(outgoing, message_size);
        cref_private_unmap(incoming, message_size);
        return -1;
    }
    memset(outgoing, 0x5A, message_size);
    __asm__ __volatile__("" : : "r"(outgoing) : "memory");  // its bytes unknown to the compiler: a real copy
    unsigned char *slots = (unsigned char *)(ring + 1);
    int error = errno;
    (void)madvise(ring, mapping_size, MADV_POPULATE_WRITE);  // best effort, both sides, as ring.c does
    errno = error;

    struct cref_parent parent;
    pid_t pid = cref_parent_fork(&parent, &ring->link, cpu_parent, cpu_child);
    if (pid == 0) {
        error = errno;
        (void)madvise(ring, mapping_size, MADV_POPULATE_WRITE);
        errno = error;
        memset(incoming, 0, message_size);  // the child's own copy of the buffer, faulted in
        cref_child_ready(&ring->link);
        uint64_t tail = 0, known_head = 0;
        for (int i = 0; i < messages; i++) {
            while (known_head == tail) {
                known_head = atomic_load_explicit(&ring->head, memory_order_acquire);
                if (known_head == tail) pause_while_waiting();
            }
            memcpy(incoming, slots + (tail & slot_mask) * slot_size, message_size);
            atomic_store_explicit(&ring->tail, ++tail, memory_order_release);
        }
        atomic_store_explicit(&ring->link.time_ns, cref_clock_ns(), memory_order_release);
        _exit(0);
    }
    int result = pid < 0 ? -1 : cref_parent_await_ready(&parent, &ring->link);
    if (result == 0) {
        uint64_t head = 0, known_tail = 0, slot_count = slot_mask + 1;
        uint64_t start = cref_clock_ns();
        for (int i = 0; i < messages && result == 0; i++) {
            uint32_t spins = 0;
            while (head - known_tail == slot_count) {
                known_tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
                if (head - known_tail == slot_count) pause_while_waiting();
                // Now and then, not to spin forever on a child that died.
                if ((++spins & 0xFFFFF) == 0 && cref_parent_child_gone(&parent)) {
                    errno = ECHILD;
                    result = -1;
                    break;
                }
            }
            if (result != 0) break;
            memcpy(slots + (head & slot_mask) * slot_size, outgoing, message_size);
            atomic_store_explicit(&ring->head, ++head, memory_order_release);
        }
        if (result != 0) cref_parent_abort(&parent, &ring->link);
        else result = cref_parent_end(&parent, &ring->link);
        if (result == 0) {
            uint64_t end = atomic_load_explicit(&ring->link.time_ns, memory_order_acquire);
            *elapsed_ns = end > start ? end - start : 0;
        }
    }
    cref_shared_unmap(ring, mapping_size);
    cref_private_unmap(outgoing, message_size);
    cref_private_unmap(incoming, message_size);
    return result;
}
