#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // memfd_create, fallocate, MADV_POPULATE_WRITE
#endif
// Single-process measurements: create/map/unmap/remove, attach to an existing object, first
// touch of fresh pages, and a copy into a faulted mapping.
#include "CReference.h"
#include "cref_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older C libraries lack the name
#endif

// One object of any mechanism, and what this process holds of it.
struct object {
    int mechanism;
    const char *name;  // POSIX name, absolute path, or memfd label
    key_t key;
    size_t size;
    int fd;        // -1 when not open
    int shmid;     // System V only
    void *address; // NULL when not mapped
};

static int check_arguments(int mechanism, const char *name, int key, size_t size, int iterations, const uint64_t *samples) {
    int valid_mechanism = mechanism == CREF_SYSV || mechanism == CREF_POSIX || mechanism == CREF_FILE || mechanism == CREF_MEMFD;
    // key 0 is IPC_PRIVATE, which never names an existing segment; off_t must hold the size.
    int valid_name = mechanism == CREF_SYSV ? key != IPC_PRIVATE : name != NULL;
    if (!valid_mechanism || !valid_name || size == 0 || size > (size_t)INT64_MAX || iterations < 0
        || (iterations > 0 && samples == NULL)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static void object_init(struct object *object, int mechanism, const char *name, int key, size_t size) {
    object->mechanism = mechanism;
    object->name = name;
    object->key = (key_t)key;
    object->size = size;
    object->fd = -1;
    object->shmid = -1;
    object->address = NULL;
}

// Removes the name (System V: the segment); memfd has none. Keeps errno.
static int object_remove(struct object *object) {
    int error = errno, result = 0;
    switch (object->mechanism) {
    case CREF_SYSV: result = shmctl(object->shmid, IPC_RMID, NULL); break;
    case CREF_POSIX: result = shm_unlink(object->name); break;
    case CREF_FILE: result = unlink(object->name); break;
    default: break;
    }
    if (result == 0) errno = error;
    return result;
}

// Unmaps (shmdt / munmap) and closes whatever is held; both steps run even if one fails.
// -1 with the first failure's errno.
static int object_release(struct object *object) {
    int failure = 0;
    if (object->address != NULL) {
        int result = object->mechanism == CREF_SYSV ? shmdt(object->address) : munmap(object->address, object->size);
        if (result != 0) failure = errno;
        object->address = NULL;
    }
    if (object->fd >= 0) {
        if (close(object->fd) != 0 && failure == 0) failure = errno;
        object->fd = -1;
    }
    if (failure == 0) return 0;
    errno = failure;
    return -1;
}

// On any failure: release and remove, errno kept.
static int object_discard(struct object *object) {
    int error = errno;
    (void)object_release(object);
    (void)object_remove(object);
    errno = error;
    return -1;
}

// Creates the object exclusively with mode 0600 and reserves its backing store; leaves it open
// (fd) but unmapped. On failure nothing is left (an object that already existed is not ours
// and is not removed).
static int object_create(struct object *object) {
    off_t size = (off_t)object->size;
    switch (object->mechanism) {
    case CREF_SYSV:
        // System V ignores the umask, and accounts the memory at shmget: nothing to reserve.
        object->shmid = shmget(object->key, object->size, IPC_CREAT | IPC_EXCL | 0600);
        return object->shmid < 0 ? -1 : 0;
    case CREF_POSIX: object->fd = shm_open(object->name, O_CREAT | O_EXCL | O_RDWR, 0600); break;
    case CREF_FILE: object->fd = open(object->name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600); break;
    default: object->fd = memfd_create(object->name, MFD_CLOEXEC); break;
    }
    if (object->fd < 0) return -1;
    // fallocate after ftruncate: a full filesystem fails here rather than as SIGBUS at first touch.
    if (ftruncate(object->fd, size) != 0 || fallocate(object->fd, 0, 0, size) != 0) return object_discard(object);
    return 0;
}

// Maps what object_create or object_open made, read-write and shared.
static int object_map(struct object *object) {
    void *address;
    if (object->mechanism == CREF_SYSV) {
        address = shmat(object->shmid, NULL, 0);
        if (address == (void *)-1) return -1;
    } else {
        address = mmap(NULL, object->size, PROT_READ | PROT_WRITE, MAP_SHARED, object->fd, 0);
        if (address == MAP_FAILED) return -1;
    }
    object->address = address;
    return 0;
}

// Opens the existing object as a second user would, checking (as a careful attacher must before
// mapping) that it is at least `size` bytes: a mapping past the end of an object is SIGBUS on
// first touch. `source_fd` is the memfd to duplicate. Not mapped yet.
static int object_open(struct object *object, int source_fd) {
    if (object->mechanism == CREF_SYSV) {
        object->shmid = shmget(object->key, 0, 0);
        if (object->shmid < 0) return -1;
        struct shmid_ds status;
        if (shmctl(object->shmid, IPC_STAT, &status) != 0) return -1;
        if (status.shm_segsz < object->size) {
            errno = EINVAL;
            return -1;
        }
        return 0;
    }
    switch (object->mechanism) {
    case CREF_POSIX: object->fd = shm_open(object->name, O_RDWR, 0); break;  // glibc adds O_NOFOLLOW | O_CLOEXEC
    case CREF_FILE: object->fd = open(object->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC); break;
    default: object->fd = fcntl(source_fd, F_DUPFD_CLOEXEC, 0); break;  // dup, close-on-exec like the rest
    }
    if (object->fd < 0) return -1;
    struct stat status;
    int error = 0;
    if (fstat(object->fd, &status) != 0) error = errno;
    else if (!S_ISREG(status.st_mode)) error = ENODEV;
    else if ((uint64_t)status.st_size < object->size) error = EINVAL;
    if (error == 0) return 0;
    (void)object_release(object);
    errno = error;
    return -1;
}

int cref_lifecycle(int mechanism, const char *name, int key, size_t size, int iterations, uint64_t *samples) {
    if (check_arguments(mechanism, name, key, size, iterations, samples) != 0) return -1;
    for (int i = 0; i < iterations; i++) {
        struct object object;
        object_init(&object, mechanism, name, key, size);
        uint64_t start = cref_clock_ns();
        if (object_create(&object) != 0) return -1;
        if (object_map(&object) != 0) return object_discard(&object);
        if (object_release(&object) != 0) return object_discard(&object);
        if (object_remove(&object) != 0) return -1;
        samples[i] = cref_clock_ns() - start;
    }
    return 0;
}

int cref_attach(int mechanism, const char *name, int key, size_t size, int iterations, uint64_t *samples) {
    if (check_arguments(mechanism, name, key, size, iterations, samples) != 0) return -1;
    if (iterations == 0) return 0;
    struct object created;
    object_init(&created, mechanism, name, key, size);
    if (object_create(&created) != 0) return -1;
    // The creator keeps only what the attach needs: the memfd to duplicate. A POSIX object or a
    // file outlives its descriptor, a System V segment its creator's process.
    if (mechanism != CREF_MEMFD && object_release(&created) != 0) return object_discard(&created);
    for (int i = 0; i < iterations; i++) {
        struct object object;
        object_init(&object, mechanism, name, key, size);
        uint64_t start = cref_clock_ns();
        if (object_open(&object, created.fd) != 0) return object_discard(&created);
        if (object_map(&object) != 0 || object_release(&object) != 0) {
            int error = errno;
            (void)object_release(&object);  // the attach's own descriptor, if still open
            errno = error;
            return object_discard(&created);
        }
        samples[i] = cref_clock_ns() - start;
    }
    if (object_release(&created) != 0) return object_discard(&created);
    return object_remove(&created);
}

// POSIX objects for the two page measurements: created and mapped as cref_lifecycle does.
static int posix_create_mapped(struct object *object, const char *name, size_t size) {
    object_init(object, CREF_POSIX, name, 0, size);
    if (object_create(object) != 0) return -1;
    if (object_map(object) != 0) return object_discard(object);
    return 0;
}

static int posix_destroy(struct object *object) {
    if (object_release(object) != 0) return object_discard(object);
    return object_remove(object);
}

int cref_first_touch(const char *name, size_t size, int prefault, int iterations, uint64_t *samples) {
    if (check_arguments(CREF_POSIX, name, 0, size, iterations, samples) != 0) return -1;
    for (int i = 0; i < iterations; i++) {
        struct object object;
        if (posix_create_mapped(&object, name, size) != 0) return -1;
        volatile unsigned char *bytes = object.address;  // volatile: every write must happen
        uint64_t start = cref_clock_ns();
        if (prefault && madvise(object.address, size, MADV_POPULATE_WRITE) != 0) return object_discard(&object);
        for (size_t offset = 0; offset < size; offset += 4096) bytes[offset] = 1;
        uint64_t end = cref_clock_ns();
        samples[i] = end - start;
        if (posix_destroy(&object) != 0) return -1;
    }
    return 0;
}

int cref_copy(const char *name, size_t size, int iterations, uint64_t *samples) {
    if (check_arguments(CREF_POSIX, name, 0, size, iterations, samples) != 0) return -1;
    if (iterations == 0) return 0;
    unsigned char *source = malloc(size);
    if (source == NULL) return -1;
    memset(source, 0xA5, size);  // faults the private buffer in too
    // Let the buffer escape: otherwise the compiler knows it holds only 0xA5 and turns the
    // memcpy below into a memset, which writes half the bytes and is no copy at all.
    __asm__ __volatile__("" : : "r"(source) : "memory");
    struct object object;
    if (posix_create_mapped(&object, name, size) != 0) {
        int error = errno;
        free(source);
        errno = error;
        return -1;
    }
    memset(object.address, 0, size);  // every page faulted in writable before the first sample
    for (int i = 0; i < iterations; i++) {
        uint64_t start = cref_clock_ns();
        CREF_COMPILER_BARRIER();
        memcpy(object.address, source, size);
        CREF_COMPILER_BARRIER();
        samples[i] = cref_clock_ns() - start;
    }
    free(source);
    return posix_destroy(&object);
}

int cref_small_copies(const char *name, size_t size, int into_mapping, int batch, int iterations, uint64_t *samples) {
    if (check_arguments(CREF_POSIX, name, 0, size, iterations, samples) != 0) return -1;
    if (batch <= 0) {
        errno = EINVAL;
        return -1;
    }
    if (iterations == 0) return 0;
    // Page-aligned, as the Swift side's: `rep movsb` (glibc's memcpy from 2 KiB on, and the
    // guarded copy) runs up to half as fast again from some offsets in a page than from others.
    unsigned char *buffer;
    if ((errno = posix_memalign((void **)&buffer, 4096, size)) != 0) return -1;
    memset(buffer, 0xA5, size);
    __asm__ __volatile__("" : : "r"(buffer) : "memory");  // as in cref_copy: no memset in disguise
    struct object object;
    if (posix_create_mapped(&object, name, size) != 0) {
        int error = errno;
        free(buffer);
        errno = error;
        return -1;
    }
    memset(object.address, 0, size);
    unsigned char *destination = into_mapping ? object.address : buffer;
    const unsigned char *source = into_mapping ? buffer : object.address;
    for (int i = 0; i < iterations; i++) {
        uint64_t start = cref_clock_ns();
        for (int copy = 0; copy < batch; copy++) {
            CREF_COMPILER_BARRIER();  // each copy is made: none is merged with the next or dropped
            memcpy(destination, source, size);
        }
        CREF_COMPILER_BARRIER();
        samples[i] = cref_clock_ns() - start;
    }
    free(buffer);
    return posix_destroy(&object);
}
