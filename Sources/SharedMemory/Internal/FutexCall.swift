#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import SystemPackage

/// `futex(2)` on a word of a shared mapping, one wrapper per operation: never
/// `FUTEX_PRIVATE_FLAG`, which only works within one process.
enum FutexCall {
    /// `FUTEX_WAIT`: sleeps while `word` holds `expected`, at most `timeout`. Not retried on
    /// `EINTR`: the caller rechecks its condition, as after any wake-up.
    static func wait(_ word: UnsafeMutablePointer<UInt32>, expected: UInt32, timeout: Duration?) -> Result<Void, Errno> {
        guard let timeout else {
            return SystemCall.value(retryingInterrupts: false) { CSharedMemoryShims_futex_wait(word, expected, nil) }
                .map { _ in () }
        }
        var relative = timespec(timeout)
        return SystemCall.value(retryingInterrupts: false) { CSharedMemoryShims_futex_wait(word, expected, &relative) }
            .map { _ in () }
    }

    /// `futex_waitv`: sleeps while every entry's word holds its value, until one is woken, at most
    /// until `deadline` (absolute, `CLOCK_MONOTONIC`). Not retried on `EINTR`, as `wait`. `ENOSYS`
    /// before Linux 5.16.
    static func waitv(
        _ entries: UnsafeMutablePointer<CSharedMemoryShims_futex_waitv>, count: Int, deadline: timespec?
    ) -> Result<Void, Errno> {
        guard var deadline else {
            return SystemCall.value(retryingInterrupts: false) { CSharedMemoryShims_futex_waitv(entries, UInt32(count), nil) }
                .map { _ in () }
        }
        return SystemCall.value(retryingInterrupts: false) { CSharedMemoryShims_futex_waitv(entries, UInt32(count), &deadline) }
            .map { _ in () }
    }

    /// `FUTEX_WAKE`: wakes up to `count` sleepers; how many woke.
    static func wake(_ word: UnsafeMutablePointer<UInt32>, count: Int32) -> Int {
        max(0, Int(CSharedMemoryShims_futex_wake(word, count)))
    }
}
