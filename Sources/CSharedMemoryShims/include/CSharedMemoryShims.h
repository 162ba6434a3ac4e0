// Thin wrappers for what Swift cannot import from glibc: functions declared only
// under _GNU_SOURCE, variadic functions, and macros. One line each, prefixed
// `CSharedMemoryShims_`; constants are `extern const` so Swift sees their values.
// One exception, in its own file: the guarded copy (guarded_copy.c), a signal handler and
// sigsetjmp, which Swift cannot write.
#ifndef C_SHARED_MEMORY_SHIMS_H
#define C_SHARED_MEMORY_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/sem.h>
#include <time.h>

int CSharedMemoryShims_memfd_create(const char *name, unsigned int flags);
int CSharedMemoryShims_fallocate(int fd, int mode, off_t offset, off_t length);
void *CSharedMemoryShims_mremap(void *old_address, size_t old_size, size_t new_size, int flags);

// semctl is variadic: one wrapper per kind of fourth argument.
int CSharedMemoryShims_semctl(int id, int index, int command);
int CSharedMemoryShims_semctl_value(int id, int index, int command, int value);
int CSharedMemoryShims_semctl_array(int id, int command, unsigned short *values);
int CSharedMemoryShims_semctl_status(int id, int command, struct semid_ds *status);
int CSharedMemoryShims_semtimedop(int id, struct sembuf *operations, size_t count, const struct timespec *timeout);

// futex(2) on a word shared between processes (not FUTEX_PRIVATE_FLAG).
long CSharedMemoryShims_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *timeout);
long CSharedMemoryShims_futex_wake(uint32_t *word, int count);
// futex_waitv(2), Linux 5.16: sleeps until one of `count` words no longer holds its value or is
// woken, at most until `deadline` (absolute, CLOCK_MONOTONIC; NULL: no limit). An entry has the
// kernel's struct futex_waitv layout, declared here for headers older than 5.16. ENOSYS before 5.16.
struct CSharedMemoryShims_futex_waitv {
    uint64_t value;
    uint64_t address;
    uint32_t flags;
    uint32_t reserved;
};
long CSharedMemoryShims_futex_waitv(struct CSharedMemoryShims_futex_waitv *waiters, unsigned int count, const struct timespec *deadline);
/// FUTEX2_SIZE_U32: the entry's word is 32 bits (shared: no FUTEX2_PRIVATE).
extern const uint32_t CSharedMemoryShims_FUTEX2_SIZE_U32;
/// FUTEX_WAITV_MAX: the most entries one call takes.
extern const unsigned int CSharedMemoryShims_FUTEX_WAITV_MAX;

// The calling thread as ProcessMutex records its owner. Thread-local, so the lock's fast path
// makes no syscall; all zero until the library fills it, and zeroed again in a forked child
// (whose only thread has another tid) once CSharedMemoryShims_forget_identity_on_fork ran.
struct CSharedMemoryShims_thread_identity {
    int32_t pid;
    int32_t tid;
    uint64_t start_time;
    uint64_t pid_namespace;
};
extern __thread struct CSharedMemoryShims_thread_identity CSharedMemoryShims_thread_identity_record;
static inline struct CSharedMemoryShims_thread_identity *CSharedMemoryShims_thread_identity(void) {
    return &CSharedMemoryShims_thread_identity_record;
}
void CSharedMemoryShims_forget_identity_on_fork(void);
long CSharedMemoryShims_gettid(void);
// tgkill(2): signal 0 asks whether thread `tid` of process `pid` exists.
long CSharedMemoryShims_tgkill(int pid, int tid, int signal);
// membarrier(2): register this process for MEMBARRIER_CMD_GLOBAL_EXPEDITED (once per process),
// and issue one: every CPU running a registered process executes a full memory barrier.
int CSharedMemoryShims_membarrier_register_global_expedited(void);
int CSharedMemoryShims_membarrier_global_expedited(void);

// The calling thread's thread pointer (the %fs base on x86-64, TPIDR_EL0 on Arm): distinct for
// every live thread, read in one instruction where pthread_self is a call through the PLT.
static inline uintptr_t CSharedMemoryShims_thread_pointer(void) { return (uintptr_t)__builtin_thread_pointer(); }

// Keeps the compiler from moving memory accesses across it; emits no instruction.
static inline void CSharedMemoryShims_compiler_barrier(void) { __asm__ __volatile__("" ::: "memory"); }

// A spin-wait hint (x86 `pause`, Arm `yield`): a loop that re-reads a line another CPU will write
// waits a moment without flooding it with loads, and leaves its pipeline without a misprediction.
static inline void CSharedMemoryShims_spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// fcntl is variadic: the integer-argument form (F_ADD_SEALS, F_GET_SEALS).
int CSharedMemoryShims_fcntl_int(int fd, int command, int argument);

// memcpy under a SIGBUS guard: a SIGBUS raised by this copy, at an address inside
// [`guarded`, `guarded` + `count`) (the shared side of the copy), ends the copy early and returns 1
// instead of killing the process. Returns 0 when the copy completed, -1 with errno when the
// handler could not be installed (nothing copied). The handler is installed on first use; every
// other SIGBUS goes to the handler that was installed before it, or gets the default action.
int CSharedMemoryShims_guarded_copy(void *destination, const void *source, size_t count, const void *guarded);

size_t CSharedMemoryShims_CMSG_SPACE(size_t length);
size_t CSharedMemoryShims_CMSG_LEN(size_t length);
struct cmsghdr *CSharedMemoryShims_CMSG_FIRSTHDR(struct msghdr *message);
unsigned char *CSharedMemoryShims_CMSG_DATA(struct cmsghdr *header);

extern const int CSharedMemoryShims_MREMAP_MAYMOVE;
extern const unsigned int CSharedMemoryShims_MFD_CLOEXEC;
extern const unsigned int CSharedMemoryShims_MFD_HUGETLB;
extern const unsigned int CSharedMemoryShims_MFD_ALLOW_SEALING;
extern const int CSharedMemoryShims_F_ADD_SEALS;
extern const int CSharedMemoryShims_F_GET_SEALS;
extern const int CSharedMemoryShims_F_SEAL_SEAL;
extern const int CSharedMemoryShims_F_SEAL_SHRINK;
extern const int CSharedMemoryShims_F_SEAL_GROW;
extern const int CSharedMemoryShims_F_SEAL_WRITE;
extern const int CSharedMemoryShims_O_TMPFILE;
/// The largest value a System V semaphore holds (SEMVMX, from <linux/sem.h>).
extern const int CSharedMemoryShims_SEMVMX;

#endif
