// ProcessMutex from C, as Docs/Interop.md describes it: the same 64 bytes and the same protocol
// as the library, so a C process and a Swift process take turns on one lock.
#ifndef PROCESS_MUTEX_H
#define PROCESS_MUTEX_H

#include <stdatomic.h>
#include <stdint.h>

// At an offset aligned to 8 in the region. Integers only: nothing here is an address.
struct process_mutex {
    _Atomic uint64_t header;              // magic 0x4B4C4D53 ("SMLK") | version 1 << 32
    _Atomic uint64_t state;               // the futex word (low half) | the generation << 32
    _Atomic uint32_t owner_generation;    // the generation the owner fields belong to
    uint32_t zero;
    _Atomic uint64_t owner_thread;        // pid | tid << 32
    _Atomic uint64_t owner_start_time;    // field 22 of /proc/PID/task/TID/stat
    _Atomic uint64_t owner_pid_namespace; // st_ino of /proc/self/ns/pid
    uint64_t reserved[2];
};

#define PROCESS_MUTEX_HEADER 0x000000014B4C4D53ull

// The futex word's bits. Only 0, 1, 3, 5, 7 and 8 ever occur.
enum { PROCESS_MUTEX_LOCKED = 1, PROCESS_MUTEX_WAITERS = 2, PROCESS_MUTEX_INCONSISTENT = 4,
    PROCESS_MUTEX_NOT_RECOVERABLE = 8 };

void process_mutex_initialize(struct process_mutex *mutex);
// 0 once held; ENOTRECOVERABLE; EINVAL for bytes that hold no mutex, or a state no process
// following the protocol writes.
int process_mutex_lock(struct process_mutex *mutex);
// 0; EPERM if the mutex is not held.
int process_mutex_unlock(struct process_mutex *mutex);

#endif
