#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

extension SystemVSemaphoreSet {
    /// Applies `operations` all at once or not at all (`semop`, or `semtimedop` with a timeout).
    ///
    /// The call waits until every operation can be applied together, unless one flagged
    /// `.noWait` would wait (`.wouldBlock`) or `timeout` passes first (`.timedOut`); in both
    /// cases nothing was applied. A signal does not end the wait early: the call goes on with
    /// what is left of the timeout.
    ///
    /// - Throws: bad input (an index outside the set, a delta outside ±32767, no operations,
    ///   more than SEMOPM) before any call; `.notFound` when the set is removed, including
    ///   while waiting ("removed while waiting"); `.invalidArgument` when a signal would take
    ///   a semaphore above 32767 (`ERANGE`).
    public func apply(_ operations: [SemaphoreOperation], timeout: Duration? = nil)
        throws(SharedMemoryError) -> SemaphoreApplyResult
    {
        var buffers = try SemaphoreInput.sembufs(operations, count: count, address)
        try SemaphoreInput.checkTimeout(timeout, address)
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            // The time left is recomputed on every round, so a signal does not restart the full timeout.
            let result = SemaphoreCall.operate(id, &buffers, timeout: deadline.map { max(clock.now.duration(to: $0), .zero) })
            switch result {
            case .success:
                return .applied
            case .failure(.interrupted):
                continue
            case .failure(.resourceTemporarilyUnavailable):
                // EAGAIN means either: a .noWait operation would wait, or the time ran out.
                guard let deadline else { return .wouldBlock }
                let anyNoWait = operations.contains { $0.flags.contains(.noWait) }
                return !anyNoWait || clock.now >= deadline ? .timedOut : .wouldBlock
            case .failure(.outOfRange):
                throw SharedMemoryError(
                    code: .invalidArgument, operation: "semop", address: address.description,
                    errno: .outOfRange,
                    message: "the operations would take a semaphore above \(SemaphoreLimits.maximumValue) (SEMVMX)",
                    hint: "a System V semaphore holds 0…\(SemaphoreLimits.maximumValue); signal by less")
            case .failure:
                _ = try result.get("semop", semaphoreSet: address)
            }
        }
    }

    /// Waits until semaphore `index` is positive and takes one from it (`semop`, -1).
    /// With `undo`, the kernel gives it back if this process exits without `signal(undo: true)`.
    public func wait(_ index: Int = 0, undo: Bool = false) throws(SharedMemoryError) {
        _ = try apply([.wait(index, flags: undo ? .undo : [])])
    }

    /// Takes one from semaphore `index` if it is positive, without waiting (`semop` with
    /// `IPC_NOWAIT`); `false` when it is 0.
    public func tryWait(_ index: Int = 0, undo: Bool = false) throws(SharedMemoryError) -> Bool {
        try apply([.wait(index, flags: undo ? [.noWait, .undo] : .noWait)]) == .applied
    }

    /// Adds one to semaphore `index`, waking a waiter (`semop`, +1).
    public func signal(_ index: Int = 0, undo: Bool = false) throws(SharedMemoryError) {
        _ = try apply([.signal(index, flags: undo ? .undo : [])])
    }

    /// Runs `body` holding semaphore `index` as a lock (its value 1 means free): `wait`, then
    /// `body`, then `signal`, both with `SEM_UNDO`, so a process killed inside `body` does not
    /// keep the lock.
    public func withLock<Value, Failure: Error>(_ index: Int = 0, _ body: () throws(Failure) -> Value) throws -> Value {
        try wait(index, undo: true)
        let outcome = Result<Value, Failure>(catching: body)
        try signal(index, undo: true)
        return try outcome.get()
    }
}
