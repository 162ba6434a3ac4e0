// Counts every heap allocation of the process it is linked into, by defining malloc and its
// siblings over glibc's own (__libc_malloc...). For the allocation probe only.
#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H

/// Allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) so far.
unsigned long allocation_count(void);

#endif
