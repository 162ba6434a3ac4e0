#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // pipe2, sched_setaffinity
#endif
// Round trips between a parent and one forked child over six mechanisms, and the pipe and socket pair
// baselines of the ring's throughput.
#include "CReference.h"
#include "cref_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/socket.h>

// The shared mapping of a round trip: the child's report, then the sequence word on a line of
// its own. The parent stores odd tokens 1, 3, 5...; the child answers each with token + 1.
struct round_trip_shared {
    struct cref_child_link link;
    _Alignas(64) _Atomic uint64_t sequence;
};

// What the child and parent talk through, made before fork.
struct channel {
    int kind;
    struct round_trip_shared *shared;
    int to_child[2];      // pipe: parent writes [1], child reads [0]
    int to_parent[2];     // pipe: child writes [1], parent reads [0]
    int sockets[2];       // socketpair: parent [0], child [1]
    int semaphores;       // two: 0 parent -> child, 1 child -> parent
    int queue;            // message types 1 parent -> child, 2 child -> parent
};

union semaphore_argument {  // semctl's fourth argument, which the caller must declare
    int value;
    struct semid_ds *status;
    unsigned short *values;
};

struct one_byte_message {
    long type;
    char text[1];
};

static void close_fd(int *fd) {
    if (*fd < 0) return;
    int error = errno;
    (void)close(*fd);
    *fd = -1;
    errno = error;
}

static void channel_close(struct channel *channel) {
    int error = errno;
    close_fd(&channel->to_child[0]);
    close_fd(&channel->to_child[1]);
    close_fd(&channel->to_parent[0]);
    close_fd(&channel->to_parent[1]);
    close_fd(&channel->sockets[0]);
    close_fd(&channel->sockets[1]);
    if (channel->semaphores >= 0) (void)semctl(channel->semaphores, 0, IPC_RMID);
    channel->semaphores = -1;
    if (channel->queue >= 0) (void)msgctl(channel->queue, IPC_RMID, NULL);
    channel->queue = -1;
    if (channel->shared != NULL) cref_shared_unmap(channel->shared, sizeof *channel->shared);
    channel->shared = NULL;
    errno = error;
}

static int channel_open(struct channel *channel, int kind) {
    channel->kind = kind;
    channel->to_child[0] = channel->to_child[1] = channel->to_parent[0] = channel->to_parent[1] = -1;
    channel->sockets[0] = channel->sockets[1] = -1;
    channel->semaphores = channel->queue = -1;
    channel->shared = cref_shared_map(sizeof *channel->shared);
    if (channel->shared == NULL) return -1;
    int result = 0;
    switch (kind) {
    case CREF_PIPE:
        result = pipe2(channel->to_child, O_CLOEXEC) != 0 || pipe2(channel->to_parent, O_CLOEXEC) != 0 ? -1 : 0;
        break;
    case CREF_SOCKETPAIR: result = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel->sockets); break;
    case CREF_SEMAPHORE: {
        // IPC_PRIVATE: a fresh set no other program can meet; zeroed explicitly, as POSIX leaves
        // a new set's values unspecified.
        channel->semaphores = semget(IPC_PRIVATE, 2, IPC_CREAT | IPC_EXCL | 0600);
        unsigned short zeros[2] = {0, 0};
        union semaphore_argument argument = {.values = zeros};
        result = channel->semaphores < 0 || semctl(channel->semaphores, 0, SETALL, argument) != 0 ? -1 : 0;
        break;
    }
    case CREF_MESSAGE_QUEUE:
        channel->queue = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
        result = channel->queue < 0 ? -1 : 0;
        break;
    default: break;
    }
    if (result != 0) channel_close(channel);
    return result;
}

// ---- One byte each way, retrying signals; EOF is the other side gone (EPIPE) ----

static int write_byte(int fd) {
    char byte = 1;
    for (;;) {
        ssize_t written = write(fd, &byte, 1);
        if (written == 1) return 0;
        if (written < 0 && errno != EINTR) return -1;
    }
}

static int read_byte(int fd) {
    char byte;
    for (;;) {
        ssize_t got = read(fd, &byte, 1);
        if (got == 1) return 0;
        if (got == 0) {
            errno = EPIPE;
            return -1;
        }
        if (errno != EINTR) return -1;
    }
}

static int semaphore_add(int set, unsigned short index, short delta) {
    struct sembuf operation = {.sem_num = index, .sem_op = delta, .sem_flg = 0};
    while (semop(set, &operation, 1) != 0) {
        if (errno != EINTR) return -1;
    }
    return 0;
}

static int queue_send(int queue, long type) {
    struct one_byte_message message = {.type = type, .text = {1}};
    while (msgsnd(queue, &message, sizeof message.text, 0) != 0) {
        if (errno != EINTR) return -1;
    }
    return 0;
}

static int queue_receive(int queue, long type) {
    struct one_byte_message message;
    while (msgrcv(queue, &message, sizeof message.text, type, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return 0;
}

// ---- The child: answers `total` tokens, then _exit ----

static _Noreturn void child_fail(struct channel *channel) {
    // A parent blocked in semop or msgrcv would wait forever for a child that has gone:
    // removing the set or queue wakes it with EIDRM. Pipes and sockets give it EOF anyway.
    int error = errno;
    if (channel->semaphores >= 0) (void)semctl(channel->semaphores, 0, IPC_RMID);
    if (channel->queue >= 0) (void)msgctl(channel->queue, IPC_RMID, NULL);
    errno = error;
    cref_child_fail(&channel->shared->link);
}

static _Noreturn void child_run(struct channel *channel, long long total) {
    _Atomic uint64_t *sequence = &channel->shared->sequence;
    uint32_t *word = cref_futex_word(sequence);
    int error = errno;
    // Only this side's ends stay open, so that each side sees EOF when the other goes.
    close_fd(&channel->to_child[1]);
    close_fd(&channel->to_parent[0]);
    close_fd(&channel->sockets[0]);
    errno = error;
    cref_child_ready(&channel->shared->link);
    for (long long i = 0; i < total; i++) {
        uint64_t token = 2 * (uint64_t)i + 1;
        switch (channel->kind) {
        case CREF_SPIN:
            while (atomic_load_explicit(sequence, memory_order_acquire) != token) cref_spin_hint();
            atomic_store_explicit(sequence, token + 1, memory_order_release);
            break;
        case CREF_FUTEX:
            for (;;) {
                uint64_t seen = atomic_load_explicit(sequence, memory_order_acquire);
                if (seen == token) break;
                if (cref_futex_wait(word, (uint32_t)seen, NULL) != 0 && errno != EAGAIN && errno != EINTR) child_fail(channel);
            }
            atomic_store_explicit(sequence, token + 1, memory_order_release);
            if (cref_futex_wake(word, 1) < 0) child_fail(channel);
            break;
        case CREF_SEMAPHORE:
            if (semaphore_add(channel->semaphores, 0, -1) != 0 || semaphore_add(channel->semaphores, 1, 1) != 0) child_fail(channel);
            break;
        case CREF_PIPE:
            if (read_byte(channel->to_child[0]) != 0 || write_byte(channel->to_parent[1]) != 0) child_fail(channel);
            break;
        case CREF_SOCKETPAIR:
            if (read_byte(channel->sockets[1]) != 0 || write_byte(channel->sockets[1]) != 0) child_fail(channel);
            break;
        default:
            if (queue_receive(channel->queue, 1) != 0 || queue_send(channel->queue, 2) != 0) child_fail(channel);
            break;
        }
    }
    _exit(0);
}

// ---- The parent: one timed loop per kind, so that nothing but the round trip is in the loop ----

#define RECORD(i, start)                                                   \
    do {                                                                   \
        uint64_t end_ = cref_clock_ns();                                   \
        if ((i) >= warm_up) samples[(i) - warm_up] = end_ - (start);       \
    } while (0)

static int parent_spin(struct channel *channel, struct cref_parent *parent, long long warm_up, long long total, uint64_t *samples) {
    _Atomic uint64_t *sequence = &channel->shared->sequence;
    for (long long i = 0; i < total; i++) {
        uint64_t token = 2 * (uint64_t)i + 1;
        uint32_t spins = 0;
        uint64_t start = cref_clock_ns();
        atomic_store_explicit(sequence, token, memory_order_release);
        while (atomic_load_explicit(sequence, memory_order_acquire) != token + 1) {
            cref_spin_hint();
            // Now and then (every 2^20 spins, tens of milliseconds), make sure there is still
            // a child to answer: a killed child would otherwise leave this loop spinning forever.
            if ((++spins & 0xFFFFF) == 0 && cref_parent_child_gone(parent)) {
                errno = ECHILD;
                return -1;
            }
        }
        RECORD(i, start);
    }
    return 0;
}

static int parent_futex(struct channel *channel, long long warm_up, long long total, uint64_t *samples) {
    _Atomic uint64_t *sequence = &channel->shared->sequence;
    uint32_t *word = cref_futex_word(sequence);
    for (long long i = 0; i < total; i++) {
        uint64_t token = 2 * (uint64_t)i + 1;
        uint64_t start = cref_clock_ns();
        atomic_store_explicit(sequence, token, memory_order_release);
        if (cref_futex_wake(word, 1) < 0) return -1;
        for (;;) {
            uint64_t seen = atomic_load_explicit(sequence, memory_order_acquire);
            if (seen == token + 1) break;
            if (cref_futex_wait(word, (uint32_t)seen, NULL) != 0 && errno != EAGAIN && errno != EINTR) return -1;
        }
        RECORD(i, start);
    }
    return 0;
}

static int parent_semaphore(struct channel *channel, long long warm_up, long long total, uint64_t *samples) {
    for (long long i = 0; i < total; i++) {
        uint64_t start = cref_clock_ns();
        if (semaphore_add(channel->semaphores, 0, 1) != 0 || semaphore_add(channel->semaphores, 1, -1) != 0) return -1;
        RECORD(i, start);
    }
    return 0;
}

static int parent_bytes(int out, int in, long long warm_up, long long total, uint64_t *samples) {
    for (long long i = 0; i < total; i++) {
        uint64_t start = cref_clock_ns();
        if (write_byte(out) != 0 || read_byte(in) != 0) return -1;
        RECORD(i, start);
    }
    return 0;
}

static int parent_queue(struct channel *channel, long long warm_up, long long total, uint64_t *samples) {
    for (long long i = 0; i < total; i++) {
        uint64_t start = cref_clock_ns();
        if (queue_send(channel->queue, 1) != 0 || queue_receive(channel->queue, 2) != 0) return -1;
        RECORD(i, start);
    }
    return 0;
}

int cref_round_trip(int kind, int iterations, int cpu_parent, int cpu_child, uint64_t *samples) {
    if (kind < CREF_SPIN || kind > CREF_MESSAGE_QUEUE || iterations < 0 || (iterations > 0 && samples == NULL)) {
        errno = EINVAL;
        return -1;
    }
    if (iterations == 0) return 0;
    long long warm_up = iterations / 10, total = warm_up + iterations;
    struct channel channel;
    if (channel_open(&channel, kind) != 0) return -1;
    struct cref_child_link *link = &channel.shared->link;
    // A write to a pipe or socket whose reader died must fail (EPIPE), not kill the caller.
    struct cref_sigpipe_guard guard;
    cref_sigpipe_block(&guard);

    struct cref_parent parent;
    pid_t pid = cref_parent_fork(&parent, link, cpu_parent, cpu_child);
    if (pid < 0) {
        cref_sigpipe_restore(&guard);
        channel_close(&channel);
        return -1;
    }
    if (pid == 0) child_run(&channel, total);

    close_fd(&channel.to_child[0]);
    close_fd(&channel.to_parent[1]);
    close_fd(&channel.sockets[1]);
    int result = cref_parent_await_ready(&parent, link);
    if (result == 0) {
        switch (kind) {
        case CREF_SPIN: result = parent_spin(&channel, &parent, warm_up, total, samples); break;
        case CREF_FUTEX: result = parent_futex(&channel, warm_up, total, samples); break;
        case CREF_SEMAPHORE: result = parent_semaphore(&channel, warm_up, total, samples); break;
        case CREF_PIPE: result = parent_bytes(channel.to_child[1], channel.to_parent[0], warm_up, total, samples); break;
        case CREF_SOCKETPAIR: result = parent_bytes(channel.sockets[0], channel.sockets[0], warm_up, total, samples); break;
        default: result = parent_queue(&channel, warm_up, total, samples); break;
        }
        if (result != 0) cref_parent_abort(&parent, link);
        else result = cref_parent_end(&parent, link);
    }
    cref_sigpipe_restore(&guard);
    channel_close(&channel);
    return result;
}

// ---- Pipe and socket pair throughput ----

int cref_stream_throughput(int kind, size_t message_size, int messages, int cpu_parent, int cpu_child, uint64_t *elapsed_ns) {
    if ((kind != CREF_PIPE && kind != CREF_SOCKETPAIR) || message_size == 0 || message_size > SSIZE_MAX || messages < 0
        || elapsed_ns == NULL) {
        errno = EINVAL;
        return -1;
    }
    *elapsed_ns = 0;
    if (messages == 0) return 0;
    // Both buffers before fork: the child may not allocate (the caller may have other threads).
    unsigned char *outgoing = cref_private_map(message_size);
    unsigned char *incoming = cref_private_map(message_size);
    struct channel channel;
    if (outgoing == NULL || incoming == NULL || channel_open(&channel, kind) != 0) {
        cref_private_unmap(outgoing, message_size);
        cref_private_unmap(incoming, message_size);
        return -1;
    }
    memset(outgoing, 0x5A, message_size);
    __asm__ __volatile__("" : : "r"(outgoing) : "memory");  // its bytes unknown to the compiler: a real copy
    struct cref_child_link *link = &channel.shared->link;
    struct cref_sigpipe_guard guard;
    cref_sigpipe_block(&guard);

    struct cref_parent parent;
    pid_t pid = cref_parent_fork(&parent, link, cpu_parent, cpu_child);
    // Pipe: the parent writes to_child[1], the child reads to_child[0]; socket pair: [0] and [1].
    if (pid == 0) {
        int reader = kind == CREF_PIPE ? channel.to_child[0] : channel.sockets[1];
        close_fd(kind == CREF_PIPE ? &channel.to_child[1] : &channel.sockets[0]);
        memset(incoming, 0, message_size);  // the child's own copy, faulted in before timing
        cref_child_ready(link);
        for (int i = 0; i < messages; i++) {
            for (size_t got = 0; got < message_size;) {
                ssize_t count = read(reader, incoming + got, message_size - got);
                if (count > 0) got += (size_t)count;
                else if (count == 0) {
                    errno = EPIPE;
                    cref_child_fail(link);
                } else if (errno != EINTR) cref_child_fail(link);
            }
        }
        atomic_store_explicit(&link->time_ns, cref_clock_ns(), memory_order_release);
        _exit(0);
    }
    int result = pid < 0 ? -1 : 0;
    if (result == 0) {
        close_fd(kind == CREF_PIPE ? &channel.to_child[0] : &channel.sockets[1]);
        result = cref_parent_await_ready(&parent, link);
    }
    if (result == 0) {
        int writer = kind == CREF_PIPE ? channel.to_child[1] : channel.sockets[0];
        uint64_t start = cref_clock_ns();
        for (int i = 0; i < messages && result == 0; i++) {
            for (size_t sent = 0; sent < message_size;) {
                ssize_t count = write(writer, outgoing + sent, message_size - sent);
                if (count >= 0) sent += (size_t)count;
                else if (errno != EINTR) {
                    result = -1;
                    break;
                }
            }
        }
        if (result != 0) cref_parent_abort(&parent, link);
        else result = cref_parent_end(&parent, link);
        if (result == 0) {
            uint64_t end = atomic_load_explicit(&link->time_ns, memory_order_acquire);
            *elapsed_ns = end > start ? end - start : 0;
        }
    }
    cref_sigpipe_restore(&guard);
    channel_close(&channel);
    cref_private_unmap(outgoing, message_size);
    cref_private_unmap(incoming, message_size);
    return result;
}
