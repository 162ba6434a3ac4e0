// ProcessMutex from C, as Docs/Interop.md describes it: the same 64 bytes and the same protocol
// as the library, so a C process and a Swift process take turns on one lock.
#ifndef PROCESS_MUTEX_H
#define PROCESS_MUTEX_H

#include <stdatomic.h>
#include <stdint.h>

// At an offset aligned to 8 in the region. Integers only: nothing here is an address.
struct process_mutex {
    _Atomic uint64_t header;              // magic 0x4B4C4D53 ("SMLK") | version 2 << 32
    _Atomic uint64_t state;               // the futex word (low half) | the generation << 32
    _Atomic uint32_t owner_generation;    // the generation the owner fields belong to
    uint32_t zero;
    _Atomic uint64_t owner_thread;        // pid | tid << 32
    _Atomic uint64_t owner_start_time;    // field 22 of /proc/PID/task/TID/stat
    _Atomic uint64_t owner_pid_namespace; // st_ino of /proc/self/ns/pid
    _Atomic uint64_t pid_namespace;       // the initializer's: whose thread ids the futex word holds
    uint64_t reserved;
};

#define PROCESS_MUTEX_HEADER 0x000000024B4C4D53ull

// The futex word: 0 when free; else the holder (its thread id, or ANONYMOUS for a thread of
// another pid namespace than pid_namespace) with the INCONSISTENT and WAITERS bits; or
// NOT_RECOVERABLE alone.
#define PROCESS_MUTEX_HOLDER 0x3FFFFFFFu
#define PROCESS_MUTEX_ANONYMOUS 0x3FFFFFFFu
#define PROCESS_MUTEX_INCONSISTENT 0x40000000u
#define PROCESS_MUTEX_WAITERS 0x80000000u
#define PROCESS_MUTEX_NOT_RECOVERABLE PROCESS_MUTEX_INCONSISTENT
#define PROCESS_MUTEX_MAX_TID 4194304u

void process_mutex_initialize(struct process_mutex *mutex);
// 0 once held; ENOTRECOVERABLE; EDEADLK if the word names this thread; EINVAL for bytes that
// hold no mutex, or a state no process following the protocol writes.
int process_mutex_lock(struct process_mutex *mutex);
// 0; EPERM if this thread does not hold the mutex.
int process_mutex_unlock(struct process_mutex *mutex);

#endif
