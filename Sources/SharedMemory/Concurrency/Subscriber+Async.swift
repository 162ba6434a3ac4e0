extension Subscriber {
    /// Waits for the next sample without blocking a thread of Swift's cooperative pool. `nil`
    /// once the task is cancelled (at once, also while suspended).
    ///
    /// A sample already there, or arriving while it re-reads the queues (`strategy.spins` times),
    /// is returned without suspending: a busy stream costs what `receive()` costs and allocates
    /// nothing. Only then the task suspends, and the process's one waiter thread sleeps for it
    /// (with every other async waiter) in `futex_waitv` on its wake word until a publisher's
    /// `futex(FUTEX_WAKE)`; the task resumes on the pool (resuming from that thread costs the
    /// executor an allocation or two). Like `receive(timeout:strategy:)` it looks for dead ports
    /// every half second of waiting.
    ///
    /// Do not wait on this subscriber elsewhere (another task, `receive(timeout:)`, a `WaitSet`)
    /// meanwhile. After a cancelled wait the waiter thread lets go of the port within moments; a
    /// blocking wait started at once on the same subscriber may sleep up to half a second longer.
    ///
    /// - Throws: as `receive(timeout:strategy:)`: `.peerDied`, `.limitExceeded`, `.corrupted`, a
    ///   `futex_waitv` failure.
    public func nextSample(strategy: SpinThenWait = Subscriber.defaultWaitStrategy) async throws(SharedMemoryError)
        -> ReceivedSample?
    {
        if Task.isCancelled { return nil }
        if let sample = try receive() { return sample }
        for _ in 0..<strategy.spins {
            if let sample = try receive() { return sample }
        }
        while true {
            try reportDeadPublishers()
            switch await waitTicket.wait() {
            case .ready: break
            case .slice: try service.cleanDeadPortsIfAny()
            case .cancelled: return nil
            case .failed(let error): throw error
            }
            if let sample = try receive() { return sample }
        }
    }

    /// The samples as values of a `BitwiseCopyable` type, for `for try await`: each copied out of
    /// its chunk (guarded) and released at once, without allocating. Ends when the task is
    /// cancelled. Waits as `nextSample(strategy:)`.
    ///
    /// ```swift
    /// for try await reading in subscriber.values(of: Double.self) { record(reading) }
    /// ```
    ///
    /// Iterating throws `.invalidSize` for a sample that is not `Value`'s size, and what
    /// `nextSample(strategy:)` throws.
    public func values<Value: BitwiseCopyable>(of type: Value.Type, strategy: SpinThenWait = Subscriber.defaultWaitStrategy)
        -> SampleValues<Value>
    {
        SampleValues(subscriber: self, strategy: strategy)
    }
}

/// A subscriber's samples as `Value`s (`Subscriber.values(of:strategy:)`).
public struct SampleValues<Value: BitwiseCopyable>: AsyncSequence, Sendable {
    public typealias Failure = SharedMemoryError
    let subscriber: Subscriber
    let strategy: SpinThenWait

    /// Receives the next sample when asked.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscriber: Subscriber
        let strategy: SpinThenWait

        /// The next sample's value; `nil` once the task is cancelled.
        public mutating func next() async throws(SharedMemoryError) -> Value? {
            try await next(isolation: nil)
        }

        /// As `next()`; the wait itself runs off `actor`.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(SharedMemoryError) -> Value? {
            guard let sample = try await subscriber.nextSample(strategy: strategy) else { return nil }
            return try sample.load(as: Value.self)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(subscriber: subscriber, strategy: strategy)
    }
}

/// `for try await bytes in subscriber`: each sample's bytes copied out (guarded), the sample
/// released at once. The iterator reuses one array: when the caller has let go of the previous
/// sample's bytes, the next copy allocates nothing. Ends when the task is cancelled; waits as
/// `nextSample(strategy:)`, with the default strategy. For the bytes in place, without a copy,
/// loop on `nextSample(strategy:)` (an `AsyncSequence` cannot hand out `~Copyable` samples).
extension Subscriber: AsyncSequence {
    public typealias Element = [UInt8]
    public typealias Failure = SharedMemoryError

    /// Receives the next sample when asked.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscriber: Subscriber
        var bytes: [UInt8] = []

        /// The next sample's bytes; `nil` once the task is cancelled.
        public mutating func next() async throws(SharedMemoryError) -> [UInt8]? {
            try await next(isolation: nil)
        }

        /// As `next()`; the wait itself runs off `actor`.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(SharedMemoryError) -> [UInt8]? {
            guard let sample = try await subscriber.nextSample() else { return nil }
            try sample.copyBytes(into: &bytes)
            return bytes
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(subscriber: self)
    }
}
