#define _GNU_SOURCE
#include "CSharedMemoryShims.h"

#include <fcntl.h>
#include <sys/mman.h>

int CSharedMemoryShims_memfd_create(const char *name, unsigned int flags) { return memfd_create(name, flags); }
int CSharedMemoryShims_fallocate(int fd, int mode, off_t offset, off_t length) { return fallocate(fd, mode, offset, length); }
void *CSharedMemoryShims_mremap(void *old_address, size_t old_size, size_t new_size, int flags) {
    return mremap(old_address, old_size, new_size, flags);
}

size_t CSharedMemoryShims_CMSG_SPACE(size_t length) { return CMSG_SPACE(length); }
size_t CSharedMemoryShims_CMSG_LEN(size_t length) { return CMSG_LEN(length); }
struct cmsghdr *CSharedMemoryShims_CMSG_FIRSTHDR(struct msghdr *message) { return CMSG_FIRSTHDR(message); }
unsigned char *CSharedMemoryShims_CMSG_DATA(struct cmsghdr *header) { return CMSG_DATA(header); }

const int CSharedMemoryShims_MREMAP_MAYMOVE = MREMAP_MAYMOVE;
const unsigned int CSharedMemoryShims_MFD_CLOEXEC = MFD_CLOEXEC;
const unsigned int CSharedMemoryShims_MFD_HUGETLB = MFD_HUGETLB;
const unsigned int CSharedMemoryShims_MFD_ALLOW_SEALING = MFD_ALLOW_SEALING;
