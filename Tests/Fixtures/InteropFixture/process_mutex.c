// ProcessMutex from C: the protocol of Sources/SharedMemory/Locks/ProcessMutex.swift, minus
// the takeover from a dead holder (the library checks, after each 100 ms sleep, whether the
// holder the word and the record name still runs; this version only waits, and names and
// records itself so that the library can take over from it).
#define _GNU_SOURCE
#include "process_mutex.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t thread_start_time(void) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
    int file = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t count = file < 0 ? -1 : read(file, text, sizeof text - 1);
    if (file >= 0) close(file);
    if (count <= 0) return 0;
    text[count] = '\0';
    char *field = strrchr(text, ')');  // after the command name, which may hold spaces: field 3
    for (int index = 2; field && index < 22; index++) field = strchr(field + 1, ' ');
    return field ? strtoull(field + 1, NULL, 10) : 0;
}

static uint64_t pid_namespace(void) {
    struct stat info;
    return stat("/proc/self/ns/pid", &info) == 0 ? (uint64_t)info.st_ino : 0;
}

// Who holds it, tagged with the generation taken, last: a reader that sees the tag sees the rest.
static void record_owner(struct process_mutex *mutex, uint32_t generation) {
    uint64_t thread = (uint32_t)getpid() | (uint64_t)(uint32_t)syscall(SYS_gettid) << 32;
    atomic_store_explicit(&mutex->owner_thread, thread, memory_order_release);
    atomic_store_explicit(&mutex->owner_start_time, thread_start_time(), memory_order_release);
    atomic_store_explicit(&mutex->owner_pid_namespace, pid_namespace(), memory_order_release);
    atomic_store_explicit(&mutex->owner_generation, generation, memory_order_release);
}

// What this thread puts in the word: its thread id where the mutex's pid namespace gives it a meaning.
static uint32_t holder_word(struct process_mutex *mutex) {
    uint64_t mine = pid_namespace();
    if (mine == 0 || mine != atomic_load_explicit(&mutex->pid_namespace, memory_order_relaxed))
        return PROCESS_MUTEX_ANONYMOUS;
    return (uint32_t)syscall(SYS_gettid);
}

// The futex is the state's low half (little-endian), shared: no FUTEX_PRIVATE_FLAG.
static long futex(_Atomic uint64_t *state, int operation, uint32_t value, const struct timespec *timeout) {
    return syscall(SYS_futex, (uint32_t *)state, operation, value, timeout, NULL, 0);
}

void process_mutex_initialize(struct process_mutex *mutex) {
    atomic_store_explicit(&mutex->header, 0, memory_order_relaxed);
    memset((char *)mutex + sizeof mutex->header, 0, sizeof *mutex - sizeof mutex->header);
    atomic_store_explicit(&mutex->pid_namespace, pid_namespace(), memory_order_relaxed);
    atomic_store_explicit(&mutex->header, PROCESS_MUTEX_HEADER, memory_order_release);  // last
}

int process_mutex_lock(struct process_mutex *mutex) {
    if (atomic_load_explicit(&mutex->header, memory_order_acquire) != PROCESS_MUTEX_HEADER) return EINVAL;
    uint32_t me = holder_word(mutex);
    uint64_t state = atomic_load_explicit(&mutex->state, memory_order_acquire);
    int slept = 0;
    for (;;) {
        uint32_t word = (uint32_t)state, generation = (uint32_t)(state >> 32);
        if (word == 0) {
            // Taking it names this thread and bumps the generation; after a sleep, others may
            // sleep too: keep WAITERS.
            uint64_t taken = (uint64_t)(generation + 1) << 32 | me | (slept ? PROCESS_MUTEX_WAITERS : 0);
            if (atomic_compare_exchange_weak_explicit(
                    &mutex->state, &state, taken, memory_order_acq_rel, memory_order_acquire)) {
                record_owner(mutex, generation + 1);
                return 0;
            }
            continue;
        }
        if (word == PROCESS_MUTEX_NOT_RECOVERABLE) return ENOTRECOVERABLE;
        uint32_t holder = word & PROCESS_MUTEX_HOLDER;
        if (holder == 0 || (holder > PROCESS_MUTEX_MAX_TID && holder != PROCESS_MUTEX_ANONYMOUS)) return EINVAL;
        if (holder == me && me != PROCESS_MUTEX_ANONYMOUS) return EDEADLK;  // or an earlier thread of this id died: the library takes over
        if (!(word & PROCESS_MUTEX_WAITERS)) {  // announce a sleeper, so that the unlocker wakes one
            if (!atomic_compare_exchange_weak_explicit(
                    &mutex->state, &state, state | PROCESS_MUTEX_WAITERS, memory_order_acq_rel, memory_order_acquire))
                continue;
            word |= PROCESS_MUTEX_WAITERS;
        }
        slept = 1;
        struct timespec slice = {0, 100 * 1000 * 1000};
        futex(&mutex->state, FUTEX_WAIT, word, &slice);
        state = atomic_load_explicit(&mutex->state, memory_order_acquire);
    }
}

int process_mutex_unlock(struct process_mutex *mutex) {
    uint64_t state = atomic_load_explicit(&mutex->state, memory_order_acquire);
    uint64_t generation = state & 0xFFFFFFFF00000000ull;
    if (((uint32_t)state & PROCESS_MUTEX_HOLDER) != holder_word(mutex)) return EPERM;
    if ((uint32_t)state & PROCESS_MUTEX_INCONSISTENT) {  // unlocked unrepaired after an owner died
        atomic_store_explicit(&mutex->state, generation | PROCESS_MUTEX_NOT_RECOVERABLE, memory_order_release);
        futex(&mutex->state, FUTEX_WAKE, INT_MAX, NULL);
        return 0;
    }
    uint64_t previous = atomic_exchange_explicit(&mutex->state, generation, memory_order_acq_rel);
    if ((uint32_t)previous & PROCESS_MUTEX_WAITERS) futex(&mutex->state, FUTEX_WAKE, 1, NULL);
    return 0;
}
