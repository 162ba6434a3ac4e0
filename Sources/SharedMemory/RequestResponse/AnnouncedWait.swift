import Synchronization

/// The waiting side of the sleep protocol every port of the service keeps (RequestResponse.pml):
/// spin re-trying, then read the wake word, announce the sleep in a flag (sequentially
/// consistent), re-check, and sleep on the wake word (`futex(FUTEX_WAIT)`) only if nothing came.
/// A sender stores its entry (sequentially consistent) before it loads the flag, so it either
/// sees the flag and wakes the sleeper (`ServiceMemory.wake`: only the sender that takes the
/// flag back makes the system call), or the re-check sees its entry: no wake-up is lost, and
/// while both sides keep up nobody makes a system call.
struct AnnouncedWait {
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>
    let wake: FutexWord

    /// Calls `attempt` until it gives a value; `nil` once `timeout` passed (`nil`: no limit), or
    /// when `stillUseful` says waiting is pointless. Sleeps in slices of
    /// `PortRecord.deathCheckInterval`, after each of which `stillUseful` looks at the other side.
    ///
    /// - Parameters:
    ///   - ready: the re-check after the announcement: whether `attempt` would find something.
    ///   - attempt: takes what was waited for, or `nil`.
    ///   - stillUseful: after a slice slept through: whether the other side can still give it
    ///     (it may throw instead, to report why not).
    // Inlined: the generic `Value` and the closures then cost the spinning caller nothing (not
    // inlined, each re-try went through a reabstraction thunk and a copy of the optional value).
    @inline(__always)
    func wait<Value: ~Copyable>(
        timeout: Duration?, strategy: SpinThenWait, ready: () throws(SharedMemoryError) -> Bool,
        attempt: () throws(SharedMemoryError) -> Value?, stillUseful: () throws(SharedMemoryError) -> Bool
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
            var slept = FutexWord.WaitResult.valueChanged
            if try !ready() {
                let slice = min(remaining ?? PortRecord.deathCheckInterval, PortRecord.deathCheckInterval)
                slept = try wake.wait(whileValueIs: expected, timeout: slice)
            }
            sleeping.pointee.store(0, ordering: .relaxed)
            if let value = try attempt() { return value }
            if slept == .timedOut, try !stillUseful() { return nil }
        }
    }
}
