// A copy that survives the object behind a shared mapping being made smaller by another
// process. Touching a page past the new end of a file or POSIX object raises SIGBUS; inside a
// guarded copy of this thread, at an address on the copy's shared side, the handler ends the
// copy and the copy reports it. Every other SIGBUS is passed on as if this handler were not
// there, so the program's own handler, a sanitizer's or the Swift runtime's crash report still
// see theirs.
//
// Two ways to end a copy, chosen by size where the CPU copies fast with `rep movsb`:
// - `rep movsb` (x86-64, up to 128 bytes with FSRM and from 3 KiB with ERMS): the kernel stops
//   it at the faulting byte with the remaining count in RCX; the handler sets RCX to 0 and
//   returns, the instruction completes at once and the copy returns 1. The fast path costs two
//   thread-local stores and a 32-byte record on the stack.
// - otherwise `sigsetjmp` (without the signal mask: saving it is a system call) before glibc's
//   memcpy, and `siglongjmp` out of the handler: about 4 ns more per copy, less than `rep movsb`
//   loses to memcpy between those sizes. Its 200-byte jump buffer lives in a function of its
//   own, so the `rep movsb` path does not set up that frame.
#define _GNU_SOURCE
#include "CSharedMemoryShims.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

/// One guarded copy in progress on this thread.
struct guard {
    const char *low, *high;  // the shared side: the only addresses whose SIGBUS is ours
    const void *instruction;  // the copy's `rep movsb`, or NULL when it jumps back to `resume`
    sigjmp_buf *resume;
    volatile int faulted;
};

// initial-exec: reading it in the handler must not allocate (dynamic TLS can).
static __thread struct guard *current_guard __attribute__((tls_model("initial-exec")));

static struct sigaction previous_action;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int installed;  // atomic: 1 once the handler is in place
static int install_errno;
// Sizes copied with `rep movsb`: up to `rep_small_limit` bytes, and from `rep_large_limit` on.
static size_t rep_small_limit = 0;
static size_t rep_large_limit = SIZE_MAX;

/// What would have happened without this handler.
static void pass_on(int signal_number, siginfo_t *info, void *context) {
    if (previous_action.sa_flags & SA_SIGINFO) {
        previous_action.sa_sigaction(signal_number, info, context);
        return;
    }
    void (*handler)(int) = previous_action.sa_handler;
    if (handler == SIG_IGN && info->si_code <= 0) return;  // sent by a process (kill): ignored, as before
    if (handler == SIG_DFL || handler == SIG_IGN) {
        // The default action. A fault ignores SIG_IGN (the kernel forces it), so both get it:
        // raised now, it is delivered as this handler returns.
        struct sigaction default_action;
        memset(&default_action, 0, sizeof default_action);
        default_action.sa_handler = SIG_DFL;
        sigaction(SIGBUS, &default_action, NULL);
        raise(SIGBUS);
        return;
    }
    handler(signal_number);
}

static void on_sigbus(int signal_number, siginfo_t *info, void *context) {
    struct guard *guard = current_guard;
    const char *address = info->si_addr;
    // si_code > 0: raised by the kernel for an access, so si_addr is the address (kill and
    // sigqueue give si_code <= 0, and no address).
    if (guard != NULL && info->si_code > 0 && address >= guard->low && address < guard->high) {
        if (guard->instruction == NULL) siglongjmp(*guard->resume, 1);
#if defined(__x86_64__)
        mcontext_t *registers = &((ucontext_t *)context)->uc_mcontext;
        if ((const void *)registers->gregs[REG_RIP] == guard->instruction) {
            registers->gregs[REG_RCX] = 0;
            guard->faulted = 1;
            return;
        }
#endif
    }
    pass_on(signal_number, info, context);
}

static void install(void) {
#if defined(__x86_64__)
    unsigned int eax, ebx, ecx, edx;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        if (edx & (1u << 4)) rep_small_limit = 128;  // FSRM: fast short rep movsb
        if (ebx & (1u << 9)) rep_large_limit = 3072;  // ERMS: fast long rep movsb
    }
#endif
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&action.sa_mask);
    // Read the handler in place before replacing it, so a SIGBUS on another thread never
    // finds `previous_action` not yet filled in.
    if (sigaction(SIGBUS, NULL, &previous_action) != 0 || sigaction(SIGBUS, &action, NULL) != 0) {
        install_errno = errno;
        return;
    }
    __atomic_store_n(&installed, 1, __ATOMIC_RELEASE);
}

/// The copy through glibc's memcpy, left by `siglongjmp` on a fault.
__attribute__((noinline)) static int copy_jumping_back(
    void *destination, const void *source, size_t count, struct guard *guard) {
    sigjmp_buf resume;
    guard->instruction = NULL;
    guard->resume = &resume;
    struct guard *outer = current_guard;  // a signal handler may copy while this thread copies
    // The jump leaves the handler with SIGBUS blocked, so the rare path unblocks it.
    if (sigsetjmp(resume, 0) != 0) {
        current_guard = outer;
        sigset_t bus;
        sigemptyset(&bus);
        sigaddset(&bus, SIGBUS);
        pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
        return 1;
    }
    current_guard = guard;
    // The handler reads current_guard: keep the compiler from moving its stores across the copy.
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    memcpy(destination, source, count);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    current_guard = outer;
    return 0;
}

int CSharedMemoryShims_guarded_copy(void *destination, const void *source, size_t count, const void *guarded) {
    if (__builtin_expect(!__atomic_load_n(&installed, __ATOMIC_ACQUIRE), 0)) {
        pthread_once(&install_once, install);
        if (!__atomic_load_n(&installed, __ATOMIC_ACQUIRE)) {
            errno = install_errno;
            return -1;
        }
    }
    struct guard guard;
    guard.low = guarded;
    guard.high = (const char *)guarded + count;
    guard.faulted = 0;
#if defined(__x86_64__)
    if (count <= rep_small_limit || count >= rep_large_limit) {
        struct guard *outer = current_guard;  // a signal handler may copy while this thread copies
        __asm__ volatile("lea 1f(%%rip), %0" : "=r"(guard.instruction));
        current_guard = &guard;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        __asm__ volatile("1: rep movsb" : "+D"(destination), "+S"(source), "+c"(count) : : "memory");
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        current_guard = outer;
        return guard.faulted;
    }
#endif
    return copy_jumping_back(destination, source, count, &guard);
}
