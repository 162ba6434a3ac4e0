#if canImport(Glibc)
import Glibc
#endif

/// Waiting, bounded, for another process to finish something it started: checks, then
/// pauses 50 µs doubling up to 10 ms, until `check` gives a value or `limit` has passed.
enum BoundedPoll {
    /// The first value `check` returns, or `nil` once `limit` has passed without one.
    static func until<Value>(
        _ limit: Duration, _ check: () throws(SharedMemoryError) -> Value?
    ) throws(SharedMemoryError) -> Value? {
        if let value = try check() { return value }  // the common case: no clock read
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var pause: UInt32 = 50
        while clock.now < deadline {
            usleep(pause)
            pause = min(pause * 2, 10_000)
            if let value = try check() { return value }
        }
        return nil
    }
}
