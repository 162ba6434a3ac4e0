#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // memfd_create, fallocate, sched_setaffinity, MADV_POPULATE_WRITE
#endif
// The clock, CPU pinning, and the parent/child scaffolding every two-process measurement uses.
#include "CReference.h"
#include "cref_internal.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

uint64_t cref_now_ns(void) { return cref_clock_ns(); }

int cref_usable_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
    }
    return count;
}

// A cpu_set_t on the stack, no allocation: the child calls this right after fork, where only
// async-signal-safe functions may run (the caller may have other threads).
int cref_pin_to_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);  // 0: the calling thread
}

// The calling thread's affinity, so that pinning the parent does not outlive the measurement.
// Grows the set until the kernel accepts its size (machines with more than CPU_SETSIZE CPUs).
static int save_affinity(struct cref_parent *parent) {
    for (int cpus = CPU_SETSIZE; cpus <= (1 << 22); cpus *= 2) {
        cpu_set_t *set = CPU_ALLOC(cpus);
        if (set == NULL) return -1;
        size_t size = CPU_ALLOC_SIZE(cpus);
        if (sched_getaffinity(0, size, set) == 0) {
            parent->saved_affinity = set;
            parent->saved_affinity_size = size;
            return 0;
        }
        int error = errno;
        CPU_FREE(set);
        if (error != EINVAL) {
            errno = error;
            return -1;
        }
    }
    errno = EINVAL;
    return -1;
}

static void restore_affinity(struct cref_parent *parent) {
    if (parent->saved_affinity == NULL) return;
    int error = errno;
    (void)sched_setaffinity(0, parent->saved_affinity_size, parent->saved_affinity);  // best effort
    CPU_FREE(parent->saved_affinity);
    parent->saved_affinity = NULL;
    errno = error;
}

// Reaps the child, blocking or not; 1 once reaped. If SIGCHLD is ignored the kernel reaps it
// for us and waitpid says ECHILD: the exit status is then unknown, and the child's report in
// the shared link is all there is.
static int reap(struct cref_parent *parent, int options) {
    if (parent->reaped) return 1;
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(parent->child, &status, options);
        if (pid == parent->child) {
            parent->reaped = 1;
            parent->status = status;
            return 1;
        }
        if (pid == 0) return 0;  // WNOHANG, still running
        if (errno == EINTR) continue;
        parent->reaped = 1;
        parent->status = -1;  // unknown
        return 1;
    }
}

pid_t cref_parent_fork(struct cref_parent *parent, struct cref_child_link *link, int cpu_parent, int cpu_child) {
    parent->child = -1;
    parent->reaped = 0;
    parent->status = 0;
    parent->saved_affinity = NULL;
    parent->saved_affinity_size = 0;
    if (cpu_parent >= 0 && save_affinity(parent) != 0) return -1;
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        restore_affinity(parent);
        return -1;
    }
    if (pid == 0) {
        // A child whose parent is killed mid-measurement must not spin on forever.
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self) _exit(1);  // the parent died before the line above took effect
        if (cpu_child >= 0 && cref_pin_to_cpu(cpu_child) != 0) cref_child_fail(link);
        return 0;
    }
    parent->child = pid;
    // Pinned after the fork, so that a child left unpinned (-1) keeps the caller's affinity.
    if (cpu_parent >= 0 && cref_pin_to_cpu(cpu_parent) != 0) {
        cref_parent_abort(parent, NULL);
        return -1;
    }
    return pid;
}

void cref_child_ready(struct cref_child_link *link) {
    atomic_store_explicit(&link->state, CREF_CHILD_READY, memory_order_release);
    (void)cref_futex_wake((uint32_t *)(void *)&link->state, 1);
}

void cref_child_fail(struct cref_child_link *link) {
    atomic_store_explicit(&link->error, errno != 0 ? errno : EPROTO, memory_order_relaxed);
    atomic_store_explicit(&link->state, CREF_CHILD_FAILED, memory_order_release);
    (void)cref_futex_wake((uint32_t *)(void *)&link->state, 1);
    _exit(1);  // never exit(): the caller's exit handlers and stdio buffers belong to the parent
}

static int child_error(struct cref_child_link *link) {
    if (atomic_load_explicit(&link->state, memory_order_acquire) != CREF_CHILD_FAILED) return 0;
    return atomic_load_explicit(&link->error, memory_order_relaxed);
}

int cref_parent_await_ready(struct cref_parent *parent, struct cref_child_link *link) {
    uint32_t *word = (uint32_t *)(void *)&link->state;
    for (;;) {
        uint32_t state = atomic_load_explicit(&link->state, memory_order_acquire);
        if (state == CREF_CHILD_READY) return 0;
        if (state == CREF_CHILD_FAILED) {
            errno = EPROTO;  // replaced by the child's errno in abort
            cref_parent_abort(parent, link);
            return -1;
        }
        // Not timed, so it can afford a timeout: a child killed before it reported is noticed.
        struct timespec timeout = {0, 100 * 1000 * 1000};
        if (cref_futex_wait(word, CREF_CHILD_STARTING, &timeout) != 0 && errno == ETIMEDOUT
            && cref_parent_child_gone(parent)
            && atomic_load_explicit(&link->state, memory_order_acquire) == CREF_CHILD_STARTING) {
            errno = ECHILD;
            cref_parent_abort(parent, link);
            return -1;
        }
    }
}

int cref_parent_child_gone(struct cref_parent *parent) { return reap(parent, WNOHANG); }

int cref_parent_end(struct cref_parent *parent, struct cref_child_link *link) {
    reap(parent, 0);
    restore_affinity(parent);
    int error = child_error(link);
    int status = parent->status;
    int clean = status == -1 ? error == 0 : WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (clean) return 0;
    errno = error != 0 ? error : ECHILD;
    return -1;
}

void cref_parent_abort(struct cref_parent *parent, struct cref_child_link *link) {
    int error = errno;
    if (!parent->reaped && parent->child > 0) {
        (void)kill(parent->child, SIGKILL);
        reap(parent, 0);
    }
    restore_affinity(parent);
    if (link != NULL) {
        int child = child_error(link);
        if (child != 0) error = child;
    }
    errno = error;
}

// sigprocmask rather than pthread_sigmask: on Linux it changes the calling thread's mask only,
// which is what is wanted here, and needs nothing beyond libc.
void cref_sigpipe_block(struct cref_sigpipe_guard *guard) {
    int error = errno;
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    guard->active = sigprocmask(SIG_BLOCK, &pipe_only, &guard->old_mask) == 0;
    guard->was_pending = guard->active && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    errno = error;
}

void cref_sigpipe_restore(struct cref_sigpipe_guard *guard) {
    if (!guard->active) return;
    int error = errno;
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    // A SIGPIPE raised by our own writes is consumed, so that unblocking does not deliver it.
    if (!guard->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {}
    }
    (void)sigprocmask(SIG_SETMASK, &guard->old_mask, NULL);
    guard->active = 0;
    errno = error;
}

static size_t page_rounded(size_t size) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size > SIZE_MAX - page) return 0;
    return (size + page - 1) / page * page;
}

void *cref_shared_map(size_t size) {
    size_t rounded = page_rounded(size);
    if (rounded == 0) {
        errno = size == 0 ? EINVAL : ENOMEM;
        return NULL;
    }
    void *address = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return address == MAP_FAILED ? NULL : address;
}

void *cref_private_map(size_t size) {
    size_t rounded = page_rounded(size > 0 ? size : 1);
    if (rounded == 0) {
        errno = ENOMEM;
        return NULL;
    }
    void *address = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return address == MAP_FAILED ? NULL : address;
}

void cref_private_unmap(void *address, size_t size) { cref_shared_unmap(address, size > 0 ? size : 1); }

void cref_shared_unmap(void *address, size_t size) {
    if (address == NULL) return;
    int error = errno;
    (void)munmap(address, page_rounded(size));
    errno = error;
}
