// The "limit" side of every ratio `shm compare` reports: the operations the library measures,
// written in plain C the way a careful C programmer would, with the same guarantees (exclusive
// create, exact mode, reserved backing store) so that a ratio compares like with like.
//
// Conventions: every function takes `iterations` and fills `samples[0..iterations)` with one
// duration each, in nanoseconds of CLOCK_MONOTONIC, unless it says otherwise (0 iterations: does
// nothing and returns 0). It returns 0, or -1 with errno set (EINVAL for bad arguments); on
// failure it removes whatever it created. Two-process measurements fork one child, pin the
// parent to `cpu_parent` and the child to `cpu_child` (sched_setaffinity; -1 leaves a process
// with the caller's affinity), reap the child before returning and give the calling thread its
// affinity back. The child dies with the parent (PR_SET_PDEATHSIG). A child killed from outside
// is noticed by the spin, pipe and socket measurements and the handover (-1 with ECHILD, EPIPE
// or ECONNRESET), but a parent asleep in a futex, semop or msgrcv wait (no timeout, as in the
// library) stays asleep. While writing to a pipe or socket the calling thread blocks SIGPIPE.
#ifndef C_REFERENCE_H
#define C_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

enum cref_mechanism { CREF_SYSV = 0, CREF_POSIX = 1, CREF_FILE = 2, CREF_MEMFD = 3 };

/// Nanoseconds of CLOCK_MONOTONIC: the clock both sides of every measurement use.
uint64_t cref_now_ns(void);

/// The CPUs this process may run on (sched_getaffinity), at most `capacity` of them, into
/// `cpus`; returns how many, or -1.
int cref_usable_cpus(int *cpus, int capacity);

/// Pins the calling thread to one CPU (sched_setaffinity); -1 on failure.
int cref_pin_to_cpu(int cpu);

/// One sample = create exclusively with mode 0600 (sysv: shmget IPC_CREAT|IPC_EXCL; posix:
/// shm_open O_CREAT|O_EXCL + ftruncate + fallocate; file: open O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC
/// + ftruncate + fallocate; memfd: memfd_create MFD_CLOEXEC + ftruncate + fallocate), map it
/// (shmat / mmap MAP_SHARED read-write), unmap it (shmdt / munmap + close), and remove it
/// (shmctl IPC_RMID / shm_unlink / unlink; memfd: nothing). `name` is the POSIX name ("/x"),
/// the absolute file path, or the memfd label; `key` is the System V key (not 0, IPC_PRIVATE).
/// No fchmod: shm_open and open get mode 0600, which a usual umask (022, 077) leaves intact.
int cref_lifecycle(int mechanism, const char *name, int key, size_t size, int iterations, uint64_t *samples);

/// One sample = open an existing object that this function created beforehand (shmget(key, 0, 0)
/// / shm_open O_RDWR / open O_RDWR|O_NOFOLLOW|O_CLOEXEC; memfd: dup of the descriptor, with
/// F_DUPFD_CLOEXEC), check that it holds `size` bytes as a careful attacher must before mapping
/// (shmctl IPC_STAT / fstat, which the library does too), and map it, then unmap and close. The
/// object is removed at the end.
int cref_attach(int mechanism, const char *name, int key, size_t size, int iterations, uint64_t *samples);

/// One sample = on a fresh POSIX object of `size` bytes (created with fallocate and mapped as in
/// cref_lifecycle, then removed after the sample, all untimed), optionally
/// madvise(MADV_POPULATE_WRITE) the whole mapping, then write one byte in every 4 KiB page.
/// Divide by size / 4096 for the cost per page.
int cref_first_touch(const char *name, size_t size, int prefault, int iterations, uint64_t *samples);

/// One sample = memcpy of `size` bytes from a private buffer into an already faulted shared
/// POSIX mapping (one object for all samples, written once in full before the first).
int cref_copy(const char *name, size_t size, int iterations, uint64_t *samples);

/// One sample = `batch` memcpys of `size` bytes (4 KiB in `shm compare`) into an already faulted
/// shared POSIX mapping from a private buffer (`into_mapping` 1), or out of it into the buffer (0),
/// the same bytes each time: what a guarded `write` or `read` of the library is measured against.
/// Divide by `batch` for the cost per copy.
int cref_small_copies(const char *name, size_t size, int into_mapping, int batch, int iterations, uint64_t *samples);

enum cref_round_trip { CREF_SPIN = 0, CREF_FUTEX = 1, CREF_SEMAPHORE = 2, CREF_PIPE = 3, CREF_SOCKETPAIR = 4, CREF_MESSAGE_QUEUE = 5 };

/// One sample = one round trip between parent and child: the parent sends a token, the child
/// answers, the parent sees the answer. SPIN: a shared 64-bit sequence word each side spins on
/// (plain re-reads with no pause instruction, as the Swift side spins: see CREF_SPIN_PAUSE in
/// cref_internal.h to turn x86 PAUSE on for both). FUTEX: the same word, sleeping with FUTEX_WAIT
/// on its low 32 bits and waking with FUTEX_WAKE after every store, no spinning first (shared
/// futexes). SEMAPHORE: two System V semaphores (semop). PIPE: two pipes, one
/// byte each way. SOCKETPAIR: an AF_UNIX SOCK_STREAM pair, one byte each way. MESSAGE_QUEUE: one
/// System V queue, msgsnd/msgrcv with two message types. A warm-up of iterations / 10 round trips
/// is not recorded. Shared state lives in an anonymous MAP_SHARED mapping made before fork.
int cref_round_trip(int kind, int iterations, int cpu_parent, int cpu_child, uint64_t *samples);

/// Ring throughput through the C twin of the library's SPSCRing (cref_ring.h: the same layout,
/// protocol and orderings, so that a ratio between the two measures the language, not the design):
/// the parent sends `messages` messages of `message_size` bytes (copied in) to the child through a
/// ring of `capacity` bytes, the child copies each out; blocking send and receive (spin, then
/// futex), or with `polling` set, trySend and tryReceive retried until they succeed. Writes the
/// nanoseconds from the first send to the child's last receive into `elapsed_ns`. `capacity` is a
/// power of two from 64 to 2^31 and `message_size` at most capacity / 2 - 8. Spinning is plain
/// re-reads without a pause, as in Swift. Both processes fault the ring's pages in
/// (MADV_POPULATE_WRITE) before the clock starts; the Swift side should open its region with
/// prefault for a like-for-like ratio.
int cref_ring_throughput(
    size_t message_size, int messages, size_t capacity, int polling, int cpu_parent, int cpu_child, uint64_t *elapsed_ns);

/// The limit of every ring figure: the same transfer through the fastest SPSC ring plain C does,
/// not the library's design. Fixed slots of the message size rounded up to a power of two (at
/// least 64 bytes) in `capacity` bytes (a power of two holding at least two slots), message
/// counts as head and tail on lines of their own, release stores and acquire loads only, cached
/// copies of the other side's index, spinning only (no sleeping, so nothing paid for it), memcpy
/// in and out. `message_size` > 0.
int cref_limit_ring_throughput(size_t message_size, int messages, size_t capacity, int cpu_parent, int cpu_child, uint64_t *elapsed_ns);

/// The same transfer through a pipe (kind CREF_PIPE) or an AF_UNIX SOCK_STREAM socket pair
/// (CREF_SOCKETPAIR): write / read of message_size bytes (message_size > 0), looping on short
/// reads and writes. The baselines.
int cref_stream_throughput(int kind, size_t message_size, int messages, int cpu_parent, int cpu_child, uint64_t *elapsed_ns);

/// Zero-copy hand-over latency through the C ring: one sample = the parent reserves a record of
/// `payload_size` bytes and fills it (not timed), reads the clock and publishes; the child, spinning
/// on peek (plain re-reads, never sleeping), reads the clock when it sees the record, stores that
/// time in shared memory and releases. The sample is the child's time minus the parent's. The
/// parent spins (untimed) until the child has released before the next sample, so the ring is
/// empty at every reserve. The ring's capacity is 256 KiB, the Swift comparison's, or the
/// smallest power of two that carries `payload_size` if that is more. No warm-up.
int cref_handover_latency(size_t payload_size, int iterations, int cpu_parent, int cpu_child, uint64_t *samples);

enum cref_mutex { CREF_MUTEX_ROBUST = 0, CREF_MUTEX_NORMAL = 1 };

/// glibc's process-shared pthread mutex in an anonymous MAP_SHARED mapping, on a cache line of its
/// own. ROBUST: PTHREAD_MUTEX_ROBUST and PTHREAD_MUTEX_ERRORCHECK, the job ProcessMutex does (a
/// holder's death is reported, relocking is an error). NORMAL: PTHREAD_MUTEX_NORMAL, not robust,
/// the fastest process-shared mutex glibc has: the limit. One sample = `batch` (> 0) pairs of
/// pthread_mutex_lock and pthread_mutex_unlock by one thread, nobody else using the mutex; one
/// untimed batch first.
int cref_mutex_uncontended(int kind, int batch, int iterations, uint64_t *samples);

/// One sample = one hand-off round trip of such mutexes between parent and child: the parent holds
/// mutexes 0 and 1, the child 2; at step j the parent unlocks mutex j % 3, which the child is
/// waiting for, and locks mutex (j + 2) % 3, which the child unlocks once it has taken the other.
/// So every lock waits for the other process (nobody retakes what it just let go of), and the
/// waiting is glibc's own (a robust mutex sleeps in FUTEX_WAIT at once). A warm-up of
/// iterations / 10 steps is not recorded. A NORMAL mutex's parent waits forever for a child killed
/// from outside; a ROBUST one gets EOWNERDEAD and fails.
int cref_mutex_round_trip(int kind, int iterations, int cpu_parent, int cpu_child, uint64_t *samples);

/// One sample = `batch` × (malloc(size), one byte written into it, free): glibc's allocator, the
/// limit for SharedHeap's allocate + deallocate. One untimed batch first.
int cref_malloc_free(size_t size, int batch, int iterations, uint64_t *samples);

/// One sample = `batch` lookups in a hash table of `objects` records named "object-I" (I from 0),
/// with the layout of SharedHeap's name table (64-byte record headers, 16-byte slots of record
/// and FNV-1a hash, linear probing, the type's size, alignment and name compared), in private
/// memory and without a lock. The k-th lookup (counting from the untimed first batch) is of
/// "object-((k * 7919) % objects)". -1 with EPROTO if a name is not found.
int cref_table_find(int objects, int batch, int iterations, uint64_t *samples);

#endif
