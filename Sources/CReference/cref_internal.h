// What the CReference files share: the clock, the spin hint, futex calls, and the parent/child
// scaffolding of the two-process measurements. Not part of the public header.
#ifndef CREF_INTERNAL_H
#define CREF_INTERNAL_H

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CREF_HIDDEN __attribute__((visibility("hidden")))

// Words shared between processes must be lock-free (an address-free atomic instruction), and a
// futex word is the low half of a 64-bit word only on a little-endian machine.
_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
    "shared atomics must be lock-free");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "futex words are the low halves of 64-bit words");

static inline uint64_t cref_clock_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);  // cannot fail for CLOCK_MONOTONIC with a valid pointer
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

// The hint inside the SPIN round trip's wait loops. Off: the Swift side of that measurement
// (SharedMemoryComparison) spins with plain re-reads, as do SpinThenWait and the hand-over's
// spin on peek, and Swift has no pause instruction without a shim; a C side that paused would
// change the comparison (PAUSE delays every re-read by tens to a hundred-odd cycles on x86).
// Build with -DCREF_SPIN_PAUSE=1 only if the Swift side gets the same hint. The ring and the
// hand-over never use it: they mirror the library exactly.
#ifndef CREF_SPIN_PAUSE
#define CREF_SPIN_PAUSE 0
#endif
static inline void cref_spin_hint(void) {
#if CREF_SPIN_PAUSE && defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

// Keeps the compiler from moving memory accesses across a clock read.
#define CREF_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

// The futex word of a 64-bit atomic: its low half (little-endian, asserted above).
static inline uint32_t *cref_futex_word(_Atomic uint64_t *word) { return (uint32_t *)(void *)word; }

// Shared futexes (no FUTEX_PRIVATE_FLAG): the word lives in a MAP_SHARED mapping of two processes.
static inline long cref_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *timeout) {
    return syscall(SYS_futex, word, FUTEX_WAIT, expected, timeout, NULL, 0);
}
static inline long cref_futex_wake(uint32_t *word, int count) {
    return syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

// ---- Two-process scaffolding ------------------------------------------------------------------

enum { CREF_CHILD_STARTING = 0, CREF_CHILD_READY = 1, CREF_CHILD_FAILED = 2 };

// At the start of every mapping shared with a child. `state` and `error` are the child's
// start-up report; `time_ns` carries the child's clock readings to the parent, on a line of its
// own because the handover writes it once per sample.
struct cref_child_link {
    _Alignas(64) _Atomic uint32_t state;
    _Atomic int error;
    _Alignas(64) _Atomic uint64_t time_ns;
};

// The parent's side of one child: its pid, its exit status once reaped, and the parent's
// affinity to restore on return.
struct cref_parent {
    pid_t child;
    int reaped;
    int status;
    cpu_set_t *saved_affinity;
    size_t saved_affinity_size;
};

// Forks the child. Returns 0 in the child (which then dies with its parent and is pinned to
// `cpu_child`, or has reported the failure in `link` and exited; it must finish its own set-up
// with cref_child_ready or cref_child_fail and end with _exit), the child's pid in the parent
// (pinned to `cpu_parent`, its previous affinity saved for cref_parent_end), or -1 with errno in
// the parent if the fork or the parent's pinning failed (nothing left behind).
CREF_HIDDEN pid_t cref_parent_fork(struct cref_parent *parent, struct cref_child_link *link, int cpu_parent, int cpu_child);

// Child only, async-signal-safe: reports start-up done (waking the parent), or failure with
// errno and _exit(1).
CREF_HIDDEN void cref_child_ready(struct cref_child_link *link);
CREF_HIDDEN _Noreturn void cref_child_fail(struct cref_child_link *link);

// Parent: waits (untimed, sleeping) for the child's start-up report. -1 with the child's errno
// if it failed or died; the child is then reaped and the affinity restored.
CREF_HIDDEN int cref_parent_await_ready(struct cref_parent *parent, struct cref_child_link *link);

// Parent: true once the child has exited (reaping it); for loops that would otherwise spin
// forever on a dead child.
CREF_HIDDEN int cref_parent_child_gone(struct cref_parent *parent);

// Parent, normal end: reaps the child and restores the affinity. 0 if the child exited with 0,
// else -1 with the child's errno (or ECHILD if it left none).
CREF_HIDDEN int cref_parent_end(struct cref_parent *parent, struct cref_child_link *link);

// Parent, failure path: kills and reaps the child, restores the affinity; errno is preserved.
// If the child reported an errno of its own and the parent's failure was only seeing the child
// go (EOF, EPIPE, EIDRM), that errno is the more useful one: pass `link` to prefer it.
CREF_HIDDEN void cref_parent_abort(struct cref_parent *parent, struct cref_child_link *link);

// SIGPIPE held off while the calling thread writes to a pipe or socket whose reader may be
// gone: the write fails with EPIPE instead of killing the caller's process.
struct cref_sigpipe_guard {
    sigset_t old_mask;
    int was_pending;
    int active;
};
CREF_HIDDEN void cref_sigpipe_block(struct cref_sigpipe_guard *guard);
CREF_HIDDEN void cref_sigpipe_restore(struct cref_sigpipe_guard *guard);

// An anonymous MAP_SHARED mapping of at least `size` bytes (page-rounded), or NULL with errno.
CREF_HIDDEN void *cref_shared_map(size_t size);
CREF_HIDDEN void cref_shared_unmap(void *address, size_t size);

// A private buffer for message data, mapped rather than allocated: the child gets its own
// copy-on-write view without calling malloc after fork, and leaves no heap block behind it when
// it _exits (which a leak checker such as valgrind would report, failing the child). Freeing
// NULL is a no-op; errno is kept.
CREF_HIDDEN void *cref_private_map(size_t size);
CREF_HIDDEN void cref_private_unmap(void *address, size_t size);

#endif
