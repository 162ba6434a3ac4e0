extension Listener {
    /// Waits until something fires, without blocking a thread of Swift's cooperative pool, and
    /// returns what fired since the last look. `nil` once the task is cancelled (at once, also
    /// while suspended).
    ///
    /// What fired already, or fires while it looks again (`strategy.spins` times), is returned
    /// without suspending and without allocating (when the previous result was let go of, its
    /// ids' array is reused). Only then the task suspends, and the process's one waiter thread
    /// sleeps for it (with every other async waiter) in `futex_waitv` on its wake word until a
    /// notifier's `futex(FUTEX_WAKE)`. Like `wait(timeout:)` it looks for dead ports every half
    /// second of waiting: a death ends the wait.
    ///
    /// Do not wait on this listener elsewhere (another task, `wait(timeout:)`, a `WaitSet`)
    /// meanwhile.
    ///
    /// - Throws: as `wait(timeout:)`: `.corrupted`, a `futex_waitv` failure.
    public func nextEvents(strategy: SpinThenWait = SpinThenWait()) async throws(SharedMemoryError) -> FiredEvents? {
        if Task.isCancelled { return nil }
        // Each look's result is dropped before the next look, so the ids' array is reused.
        for _ in 0...strategy.spins {
            let fired = try tryWait()
            if !fired.isEmpty { return fired }
        }
        while true {
            switch await waitTicket.wait() {
            case .ready: break
            case .slice: _ = try service.registry.cleanDeadPorts()
            case .cancelled: return nil
            case .failed(let error): throw error
            }
            let fired = try tryWait()
            if !fired.isEmpty { return fired }
        }
    }
}

/// `for try await fired in listener`: what fired, one `FiredEvents` per wake-up, as
/// `nextEvents(strategy:)` with its default strategy. Ends when the task is cancelled.
extension Listener: AsyncSequence {
    public typealias Element = FiredEvents
    public typealias Failure = SharedMemoryError

    /// Waits for the next events when asked.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let listener: Listener

        /// What fired next; `nil` once the task is cancelled.
        public mutating func next() async throws(SharedMemoryError) -> FiredEvents? {
            try await next(isolation: nil)
        }

        /// As `next()`; the wait itself runs off `actor`.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(SharedMemoryError) -> FiredEvents? {
            try await listener.nextEvents()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(listener: self)
    }
}
