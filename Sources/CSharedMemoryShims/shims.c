#define _GNU_SOURCE
#include "CSharedMemoryShims.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int CSharedMemoryShims_memfd_create(const char *name, unsigned int flags) { return memfd_create(name, flags); }
int CSharedMemoryShims_fallocate(int fd, int mode, off_t offset, off_t length) { return fallocate(fd, mode, offset, length); }
void *CSharedMemoryShims_mremap(void *old_address, size_t old_size, size_t new_size, int flags) {
    return mremap(old_address, old_size, new_size, flags);
}

int CSharedMemoryShims_semctl(int id, int index, int command) { return semctl(id, index, command); }
int CSharedMemoryShims_semctl_value(int id, int index, int command, int value) { return semctl(id, index, command, value); }
int CSharedMemoryShims_semctl_array(int id, int command, unsigned short *values) { return semctl(id, 0, command, values); }
int CSharedMemoryShims_semctl_status(int id, int command, struct semid_ds *status) { return semctl(id, 0, command, status); }
int CSharedMemoryShims_semtimedop(int id, struct sembuf *operations, size_t count, const struct timespec *timeout) {
    return semtimedop(id, operations, count, timeout);
}

long CSharedMemoryShims_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *timeout) {
    return syscall(SYS_futex, word, FUTEX_WAIT, expected, timeout, NULL, 0);
}
long CSharedMemoryShims_futex_wake(uint32_t *word, int count) {
    return syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449  // the same number on every architecture
#endif
long CSharedMemoryShims_futex_waitv(struct CSharedMemoryShims_futex_waitv *waiters, unsigned int count, const struct timespec *deadline) {
    return syscall(SYS_futex_waitv, waiters, count, 0, deadline, CLOCK_MONOTONIC);
}
const uint32_t CSharedMemoryShims_FUTEX2_SIZE_U32 = 0x02;
const unsigned int CSharedMemoryShims_FUTEX_WAITV_MAX = 128;

__thread struct CSharedMemoryShims_thread_identity CSharedMemoryShims_thread_identity_record;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
static void forget_identity(void) {
    memset(&CSharedMemoryShims_thread_identity_record, 0, sizeof CSharedMemoryShims_thread_identity_record);
}
static void install_fork_handler(void) { pthread_atfork(NULL, NULL, forget_identity); }
void CSharedMemoryShims_forget_identity_on_fork(void) { pthread_once(&fork_handler_once, install_fork_handler); }
long CSharedMemoryShims_gettid(void) { return syscall(SYS_gettid); }
long CSharedMemoryShims_tgkill(int pid, int tid, int signal) { return syscall(SYS_tgkill, pid, tid, signal); }
int CSharedMemoryShims_membarrier_register_global_expedited(void) {
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0);
}
int CSharedMemoryShims_membarrier_global_expedited(void) {
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
}

int CSharedMemoryShims_fcntl_int(int fd, int command, int argument) { return fcntl(fd, command, argument); }

size_t CSharedMemoryShims_CMSG_SPACE(size_t length) { return CMSG_SPACE(length); }
size_t CSharedMemoryShims_CMSG_LEN(size_t length) { return CMSG_LEN(length); }
struct cmsghdr *CSharedMemoryShims_CMSG_FIRSTHDR(struct msghdr *message) { return CMSG_FIRSTHDR(message); }
unsigned char *CSharedMemoryShims_CMSG_DATA(struct cmsghdr *header) { return CMSG_DATA(header); }

const int CSharedMemoryShims_MREMAP_MAYMOVE = MREMAP_MAYMOVE;
const unsigned int CSharedMemoryShims_MFD_CLOEXEC = MFD_CLOEXEC;
const unsigned int CSharedMemoryShims_MFD_HUGETLB = MFD_HUGETLB;
const unsigned int CSharedMemoryShims_MFD_ALLOW_SEALING = MFD_ALLOW_SEALING;
const int CSharedMemoryShims_F_ADD_SEALS = F_ADD_SEALS;
const int CSharedMemoryShims_F_GET_SEALS = F_GET_SEALS;
const int CSharedMemoryShims_F_SEAL_SEAL = F_SEAL_SEAL;
const int CSharedMemoryShims_F_SEAL_SHRINK = F_SEAL_SHRINK;
const int CSharedMemoryShims_F_SEAL_GROW = F_SEAL_GROW;
const int CSharedMemoryShims_F_SEAL_WRITE = F_SEAL_WRITE;
const int CSharedMemoryShims_O_TMPFILE = O_TMPFILE;
// <linux/sem.h> clashes with glibc's <sys/sem.h>; SEMVMX has been 32767 since Linux 1.0.
const int CSharedMemoryShims_SEMVMX = 32767;
