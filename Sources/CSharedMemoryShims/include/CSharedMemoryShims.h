// Thin wrappers for what Swift cannot import from glibc: functions declared only
// under _GNU_SOURCE, variadic functions, and macros. One line each, prefixed
// `CSharedMemoryShims_`; constants are `extern const` so Swift sees their values.
#ifndef C_SHARED_MEMORY_SHIMS_H
#define C_SHARED_MEMORY_SHIMS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

int CSharedMemoryShims_memfd_create(const char *name, unsigned int flags);
int CSharedMemoryShims_fallocate(int fd, int mode, off_t offset, off_t length);
void *CSharedMemoryShims_mremap(void *old_address, size_t old_size, size_t new_size, int flags);

size_t CSharedMemoryShims_CMSG_SPACE(size_t length);
size_t CSharedMemoryShims_CMSG_LEN(size_t length);
struct cmsghdr *CSharedMemoryShims_CMSG_FIRSTHDR(struct msghdr *message);
unsigned char *CSharedMemoryShims_CMSG_DATA(struct cmsghdr *header);

extern const int CSharedMemoryShims_MREMAP_MAYMOVE;
extern const unsigned int CSharedMemoryShims_MFD_CLOEXEC;
extern const unsigned int CSharedMemoryShims_MFD_HUGETLB;
extern const unsigned int CSharedMemoryShims_MFD_ALLOW_SEALING;

#endif
