#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // sched_setaffinity
#endif
// The lock section: glibc's process-shared pthread mutex, uncontended and handed back and forth
// between two processes.
#include "CReference.h"
#include "cref_internal.h"

#include <pthread.h>
#include <string.h>

// Each mutex on a cache line of its own, as the Swift side places its ProcessMutexes.
struct padded_mutex {
    _Alignas(64) pthread_mutex_t mutex;
};

struct mutex_shared {
    struct cref_child_link link;
    struct padded_mutex mutexes[3];
};

static int mutex_init(pthread_mutex_t *mutex, int kind) {
    pthread_mutexattr_t attributes;
    int error = pthread_mutexattr_init(&attributes);
    if (error == 0) error = pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    if (error == 0 && kind == CREF_MUTEX_ROBUST) error = pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    if (error == 0) {
        error = pthread_mutexattr_settype(
            &attributes, kind == CREF_MUTEX_ROBUST ? PTHREAD_MUTEX_ERRORCHECK : PTHREAD_MUTEX_NORMAL);
    }
    if (error == 0) error = pthread_mutex_init(mutex, &attributes);
    (void)pthread_mutexattr_destroy(&attributes);
    errno = error;
    return error == 0 ? 0 : -1;
}

// pthread calls return the error instead of setting errno; EOWNERDEAD (the other process died
// holding it) ends a measurement too.
static int checked(int error) {
    errno = error;
    return error == 0 ? 0 : -1;
}

int cref_mutex_uncontended(int kind, int batch, int iterations, uint64_t *samples) {
    if ((kind != CREF_MUTEX_ROBUST && kind != CREF_MUTEX_NORMAL) || batch <= 0 || iterations < 0
        || (iterations > 0 && samples == NULL)) {
        errno = EINVAL;
        return -1;
    }
    if (iterations == 0) return 0;
    struct padded_mutex *shared = cref_shared_map(sizeof *shared);
    if (shared == NULL) return -1;
    pthread_mutex_t *mutex = &shared->mutex;
    int result = mutex_init(mutex, kind);
    // One untimed batch first: the line is in the cache and the code paged in, as on the Swift side.
    for (int round = -1; result == 0 && round < iterations; round++) {
        uint64_t start = cref_clock_ns();
        for (int i = 0; i < batch && result == 0; i++) {
            result = checked(pthread_mutex_lock(mutex));
            if (result == 0) result = checked(pthread_mutex_unlock(mutex));
        }
        uint64_t end = cref_clock_ns();
        if (round >= 0) samples[round] = end - start;
    }
    int error = errno;
    cref_shared_unmap(shared, sizeof *shared);
    errno = error;
    return result;
}

// The child's side of the hand-off: holds mutex 2, then at step j takes mutex j % 3 (which the
// parent lets go of) and lets go of mutex (j + 2) % 3 (which the parent waits for).
static _Noreturn void child_hand_off(struct mutex_shared *shared, long long total) {
    if (checked(pthread_mutex_lock(&shared->mutexes[2].mutex)) != 0) cref_child_fail(&shared->link);
    cref_child_ready(&shared->link);
    for (long long j = 0; j < total; j++) {
        if (checked(pthread_mutex_lock(&shared->mutexes[j % 3].mutex)) != 0
            || checked(pthread_mutex_unlock(&shared->mutexes[(j + 2) % 3].mutex)) != 0)
            cref_child_fail(&shared->link);
    }
    _exit(0);  // holding one mutex: nobody waits for it any more
}

int cref_mutex_round_trip(int kind, int iterations, int cpu_parent, int cpu_child, uint64_t *samples) {
    if ((kind != CREF_MUTEX_ROBUST && kind != CREF_MUTEX_NORMAL) || iterations < 0 || (iterations > 0 && samples == NULL)) {
        errno = EINVAL;
        return -1;
    }
    if (iterations == 0) return 0;
    long long warm_up = iterations / 10, total = warm_up + iterations;
    struct mutex_shared *shared = cref_shared_map(sizeof *shared);
    if (shared == NULL) return -1;
    int held[3] = {0, 0, 0};
    int result = 0;
    for (int m = 0; m < 3 && result == 0; m++) result = mutex_init(&shared->mutexes[m].mutex, kind);
    for (int m = 0; m < 2 && result == 0; m++) {
        result = checked(pthread_mutex_lock(&shared->mutexes[m].mutex));
        held[m] = result == 0;
    }
    struct cref_parent parent;
    pid_t pid = result == 0 ? cref_parent_fork(&parent, &shared->link, cpu_parent, cpu_child) : -1;
    if (pid == 0) child_hand_off(shared, total);
    if (pid > 0) {
        result = cref_parent_await_ready(&parent, &shared->link);
        // Step j: let go of mutex j % 3, for the child, and wait for mutex (j + 2) % 3, which the
        // child lets go of once it has taken the first: one sample is one round trip.
        for (long long j = 0; j < total && result == 0; j++) {
            uint64_t start = cref_clock_ns();
            result = checked(pthread_mutex_unlock(&shared->mutexes[j % 3].mutex));
            held[j % 3] = 0;
            if (result == 0) {
                int error = pthread_mutex_lock(&shared->mutexes[(j + 2) % 3].mutex);
                held[(j + 2) % 3] = error == 0 || error == EOWNERDEAD;  // EOWNERDEAD: held, the child died
                result = checked(error);
            }
            uint64_t end = cref_clock_ns();
            if (j >= warm_up) samples[j - warm_up] = end - start;
        }
        if (result != 0) cref_parent_abort(&parent, &shared->link);
        else result = cref_parent_end(&parent, &shared->link);
    } else {
        result = -1;
    }
    int error = errno;
    // A robust mutex this thread holds is on its robust list: let go of it before unmapping.
    for (int m = 0; m < 3; m++) {
        if (held[m]) (void)pthread_mutex_unlock(&shared->mutexes[m].mutex);
    }
    cref_shared_unmap(shared, sizeof *shared);
    errno = error;
    return result;
}
