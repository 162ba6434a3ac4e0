import Synchronization

/// The waiting side of the sleep protocol every port of the service keeps (RequestResponse.pml):
/// spin re-trying, then read the wake word, announce the sleep in a flag (sequentially
/// consistent), re-check, and sleep on the wake word (`futex(FUTEX_WAIT)`) only if nothing came.
/// A sender stores its entry (sequentially consistent) before it loads the flag, so it either
/// sees the flag and bumps the wake word, or the re-check sees its entry: no wake-up is lost.
struct AnnouncedWait {
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>
    let wake: FutexWord

    /// Calls `attempt` until it gives a value; `nil` once `timeout` passed (`nil`: no limit).
    ///
    /// - Parameters:
    ///   - ready: the re-check after the announcement: whether `attempt` would find something.
    ///   - attempt: takes what was waited for, or `nil`.
    func wait<Value: ~Copyable>(
        timeout: Duration?, strategy: SpinThenWait, ready: () throws(SharedMemoryError) -> Bool,
        attempt: () throws(SharedMemoryError) -> Value?
    ) throws(SharedMemoryError) -> Value? {
        for _ in 0...strategy.spins {
            if let value = try attempt() { return value }
        }
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            let remaining = deadline.map { clock.now.duration(to: $0) }
            if let remaining, remaining <= .zero { return nil }
            let expected = wake.load()
            sleeping.pointee.store(1, ordering: .sequentiallyConsistent)
            if try !ready() { _ = try wake.wait(whileValueIs: expected, timeout: remaining) }
            sleeping.pointee.store(0, ordering: .relaxed)
            if let value = try attempt() { return value }
        }
    }

    /// Wakes the port that announced it sleeps (after the caller's sequentially consistent store).
    @inline(__always)
    static func wakeIfSleeping(_ sleeping: UnsafeMutablePointer<Atomic<UInt32>>, _ wake: FutexWord) {
        if sleeping.pointee.load(ordering: .sequentiallyConsistent) != 0 {
            wake.wrappingAdd(1)
            wake.wakeAll()
        }
    }
}
