// A plain C program that meets the library's regions with the bare C calls, for the interop
// tests: shmget/shmat, shm_open/mmap, open/mmap, semget/semop, and ProcessMutex's protocol
// (process_mutex.c). It runs a script given on its
// command line, one step after another, on one region and one semaphore set at a time:
//
//   sysv-create KEY SIZE MODE    shmget(IPC_CREAT | IPC_EXCL) + shmat    (KEY in C syntax: 0x1234)
//   sysv-open KEY                shmget(key, 0, 0) + IPC_STAT + shmat
//   posix-create /NAME SIZE MODE shm_open(O_CREAT | O_EXCL) + ftruncate + mmap
//   posix-open /NAME             shm_open(O_RDWR) + fstat + mmap
//   file-create PATH SIZE MODE   open(O_CREAT | O_EXCL) + ftruncate + mmap
//   file-open PATH               open(O_RDWR) + fstat + mmap
//   size                         print "size N": the object's size as the kernel records it
//   write OFFSET HEX / expect OFFSET HEX
//   remove                       shmctl(IPC_RMID), shm_unlink or unlink
//   sem-create KEY COUNT MODE    semget(IPC_CREAT | IPC_EXCL)
//   sem-open KEY                 semget(key, 0, 0)
//   sem-setval INDEX VALUE       semctl(SETVAL)
//   sem-setall V,V,...           semctl(SETALL), one value per semaphore
//   sem-op INDEX DELTA           semop, IPC_NOWAIT
//   sem-expect INDEX VALUE       semctl(GETVAL)
//   sem-remove                   semctl(IPC_RMID)
//   mutex-init OFFSET            initialize a ProcessMutex at OFFSET (process_mutex.c)
//   mutex-lock OFFSET            lock it and print "locked"
//   mutex-unlock OFFSET          unlock it
//   mutex-increment OFFSET COUNTER TIMES   add 1 to the uint64 at COUNTER under the mutex, TIMES times
//   wait                         read one line from standard input (the test's go-ahead, or EOF)
//
// Exit status: 0 when every step passed, 1 when an expect failed, 2 on any error.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process_mutex.h"

enum kind { NONE, SYSV, POSIX, FILE_BACKED };

// The caller defines semctl's fourth argument (semctl(2)).
union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static enum kind kind = NONE;
static int shmid = -1, fd = -1, semid = -1;
static char name[4096];
static unsigned char *base;
static size_t size;

static void die(const char *what) {
    fprintf(stderr, "InteropFixture: %s: %s\n", what, strerror(errno));
    exit(2);
}

static long number(const char *text) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 0);
    if (errno != 0 || *end != '\0') {
        fprintf(stderr, "InteropFixture: not a number: %s\n", text);
        exit(2);
    }
    return value;
}

static size_t hex_bytes(const char *hex, unsigned char *out, size_t room) {
    size_t count = strlen(hex) / 2;
    if (count > room) count = room;
    for (size_t i = 0; i < count; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
    return count;
}

static void map_descriptor(void) {
    struct stat info;
    if (fstat(fd, &info) != 0) die("fstat");
    size = (size_t)info.st_size;
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) die("mmap");
}

static void attach_segment(void) {
    struct shmid_ds info;
    if (shmctl(shmid, IPC_STAT, &info) != 0) die("shmctl(IPC_STAT)");
    size = info.shm_segsz;
    base = shmat(shmid, NULL, 0);
    if (base == (void *)-1) die("shmat");
}

static void create_descriptor(int descriptor, long bytes, const char *what) {
    fd = descriptor;
    if (fd < 0) die(what);
    if (ftruncate(fd, bytes) != 0) die("ftruncate");
    map_descriptor();
}

static struct process_mutex *mutex_at(long offset) {
    if (base == NULL || offset < 0 || offset % 8 != 0 || (size_t)offset + sizeof(struct process_mutex) > size) {
        fprintf(stderr, "InteropFixture: no room for a mutex at %ld\n", offset);
        exit(2);
    }
    return (struct process_mutex *)(base + offset);
}

static void check(int error, const char *what) {
    if (error != 0) {
        errno = error;
        die(what);
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *step = argv[i];
        #define ARG (i + 1 < argc ? argv[++i] : (fprintf(stderr, "InteropFixture: %s needs more arguments\n", step), exit(2), ""))
        if (strcmp(step, "sysv-create") == 0) {
            key_t key = (key_t)number(ARG);
            long bytes = number(ARG);
            int mode = (int)strtol(ARG, NULL, 8);
            kind = SYSV;
            shmid = shmget(key, (size_t)bytes, IPC_CREAT | IPC_EXCL | mode);
            if (shmid < 0) die("shmget");
            attach_segment();
        } else if (strcmp(step, "sysv-open") == 0) {
            kind = SYSV;
            shmid = shmget((key_t)number(ARG), 0, 0);
            if (shmid < 0) die("shmget");
            attach_segment();
        } else if (strcmp(step, "posix-create") == 0 || strcmp(step, "file-create") == 0) {
            int posix = step[0] == 'p';
            snprintf(name, sizeof name, "%s", ARG);
            long bytes = number(ARG);
            mode_t mode = (mode_t)strtol(ARG, NULL, 8);
            kind = posix ? POSIX : FILE_BACKED;
            int flags = O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC;
            create_descriptor(posix ? shm_open(name, flags, mode) : open(name, flags, mode), bytes, step);
        } else if (strcmp(step, "posix-open") == 0 || strcmp(step, "file-open") == 0) {
            int posix = step[0] == 'p';
            snprintf(name, sizeof name, "%s", ARG);
            kind = posix ? POSIX : FILE_BACKED;
            fd = posix ? shm_open(name, O_RDWR | O_CLOEXEC, 0) : open(name, O_RDWR | O_CLOEXEC);
            if (fd < 0) die(step);
            map_descriptor();
        } else if (strcmp(step, "size") == 0) {
            printf("size %zu\n", size);
            fflush(stdout);
        } else if (strcmp(step, "write") == 0 || strcmp(step, "expect") == 0) {
            size_t offset = (size_t)number(ARG);
            const char *hex = ARG;
            unsigned char bytes[4096];
            size_t count = hex_bytes(hex, bytes, sizeof bytes);
            if (offset + count > size) { fprintf(stderr, "InteropFixture: %s beyond the region\n", step); exit(2); }
            if (step[0] == 'w') {
                memcpy(base + offset, bytes, count);
            } else if (memcmp(base + offset, bytes, count) != 0) {
                fprintf(stderr, "InteropFixture: expected %s at %zu\n", hex, offset);
                exit(1);
            }
        } else if (strcmp(step, "remove") == 0) {
            int result = kind == SYSV ? shmctl(shmid, IPC_RMID, NULL) : kind == POSIX ? shm_unlink(name) : unlink(name);
            if (result != 0) die("remove");
        } else if (strcmp(step, "sem-create") == 0) {
            key_t key = (key_t)number(ARG);
            int count = (int)number(ARG);
            int mode = (int)strtol(ARG, NULL, 8);
            semid = semget(key, count, IPC_CREAT | IPC_EXCL | mode);
            if (semid < 0) die("semget");
        } else if (strcmp(step, "sem-open") == 0) {
            semid = semget((key_t)number(ARG), 0, 0);
            if (semid < 0) die("semget");
        } else if (strcmp(step, "sem-setval") == 0) {
            int index = (int)number(ARG);
            int value = (int)number(ARG);
            if (semctl(semid, index, SETVAL, (union semun){.val = value}) != 0) die("semctl(SETVAL)");
        } else if (strcmp(step, "sem-setall") == 0) {
            char list[4096];
            unsigned short values[256];
            int count = 0;
            snprintf(list, sizeof list, "%s", ARG);
            for (char *item = strtok(list, ","); item != NULL && count < 256; item = strtok(NULL, ","))
                values[count++] = (unsigned short)number(item);
            if (semctl(semid, 0, SETALL, (union semun){.array = values}) != 0) die("semctl(SETALL)");
        } else if (strcmp(step, "sem-op") == 0) {
            struct sembuf operation = {(unsigned short)number(ARG), 0, IPC_NOWAIT};
            operation.sem_op = (short)number(ARG);
            if (semop(semid, &operation, 1) != 0) die("semop");
        } else if (strcmp(step, "sem-expect") == 0) {
            int index = (int)number(ARG);
            long expected = number(ARG);
            int value = semctl(semid, index, GETVAL);
            if (value < 0) die("semctl(GETVAL)");
            if (value != expected) {
                fprintf(stderr, "InteropFixture: semaphore %d is %d, expected %ld\n", index, value, expected);
                exit(1);
            }
        } else if (strcmp(step, "sem-remove") == 0) {
            if (semctl(semid, 0, IPC_RMID) != 0) die("semctl(IPC_RMID)");
        } else if (strcmp(step, "mutex-init") == 0) {
            process_mutex_initialize(mutex_at(number(ARG)));
        } else if (strcmp(step, "mutex-lock") == 0) {
            check(process_mutex_lock(mutex_at(number(ARG))), "process_mutex_lock");
            printf("locked\n");
            fflush(stdout);
        } else if (strcmp(step, "mutex-unlock") == 0) {
            check(process_mutex_unlock(mutex_at(number(ARG))), "process_mutex_unlock");
        } else if (strcmp(step, "mutex-increment") == 0) {
            struct process_mutex *mutex = mutex_at(number(ARG));
            long counter = number(ARG), times = number(ARG);
            if (counter < 0 || (size_t)counter + sizeof(uint64_t) > size) {
                fprintf(stderr, "InteropFixture: no room for a counter at %ld\n", counter);
                exit(2);
            }
            for (long round = 0; round < times; round++) {
                check(process_mutex_lock(mutex), "process_mutex_lock");
                uint64_t value;
                memcpy(&value, base + counter, sizeof value);
                value += 1;
                memcpy(base + counter, &value, sizeof value);
                check(process_mutex_unlock(mutex), "process_mutex_unlock");
            }
        } else if (strcmp(step, "wait") == 0) {
            char line[256];
            if (fgets(line, sizeof line, stdin) == NULL && ferror(stdin)) die("read the go-ahead");
        } else {
            fprintf(stderr, "InteropFixture: unknown step %s\n", step);
            exit(2);
        }
    }
    return 0;
}
