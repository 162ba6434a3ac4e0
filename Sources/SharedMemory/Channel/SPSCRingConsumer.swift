import Synchronization

extension SPSCRing {
    /// The receiving side of a ring. Use one consumer per ring, from one thread at a time.
    public struct Consumer: @unchecked Sendable {
        // @unchecked: a consumer may move to another thread, but only one may use it at once.
        @usableFromInline let shared: Shared
        /// Bytes consumed so far (the shared tail, which only this side writes).
        @usableFromInline var tail: UInt64
        /// The producer's head as last read: re-read only when the ring looks empty.
        @usableFromInline var knownHead: UInt64
        /// Where the record being read between `peek` and `release` ends.
        @usableFromInline var peeked: UInt64?

        /// Attaches to the ring at `offset` (see `SPSCRing.initialize`).
        public init(in region: any SharedRegion, at offset: Int = 0) throws(SharedMemoryError) {
            shared = try Shared(region: region, offset: offset, side: "SPSCRing.Consumer")
            tail = shared.tail.pointee.load(ordering: .relaxed)
            knownHead = shared.head.pointee.load(ordering: .acquiring)
        }

        /// The largest message this ring carries: `capacity / 2 - 8`.
        public var maximumMessageByteCount: Int { shared.maximumMessageByteCount }

        /// The next message, in place, or `nil` if the ring is empty now. Read it, then
        /// `release()` to give its room back to the producer.
        @inlinable
        public mutating func peek() -> UnsafeRawBufferPointer? {
            if knownHead == tail {
                knownHead = shared.head.pointee.load(ordering: .acquiring)
                if knownHead == tail { return nil }
            }
            var offset = Int(tail & UInt64(shared.capacity - 1))
            var start = tail
            var length = (shared.data + offset).load(as: UInt64.self)
            if length == SPSCRing.wrapMarker {
                start = tail &+ UInt64(shared.capacity - offset)
                offset = 0
                length = shared.data.load(as: UInt64.self)
            }
            peeked = start &+ UInt64(Shared.recordByteCount(Int(length)))
            return UnsafeRawBufferPointer(start: shared.data + offset + SPSCRing.recordHeaderByteCount, count: Int(length))
        }

        /// Gives the peeked message's room back to the producer, and wakes it if it sleeps.
        @inlinable
        public mutating func release() {
            guard let end = peeked else { return }
            peeked = nil
            tail = end
            shared.tail.pointee.store(tail, ordering: .sequentiallyConsistent)
            if shared.producerSleeping.pointee.load(ordering: .sequentiallyConsistent) != 0 {
                shared.tailWord.wake()
            }
        }

        /// Copies the next message into `buffer` and releases it; its length, or `nil` if the
        /// ring is empty now.
        ///
        /// - Throws: `.invalidSize` if `buffer` is smaller than the message (which stays in the ring).
        @inlinable
        public mutating func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(SharedMemoryError) -> Int? {
            guard let message = peek() else { return nil }
            return try copyAndRelease(message, into: buffer)
        }

        @inlinable
        mutating func copyAndRelease(_ message: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer)
            throws(SharedMemoryError) -> Int
        {
            guard message.count <= buffer.count else {
                peeked = nil
                throw shared.tooLarge(message.count, "SPSCRing.receive")
            }
            if let source = message.baseAddress { buffer.baseAddress?.copyMemory(from: source, byteCount: message.count) }
            release()
            return message.count
        }

        /// Waits for the next message: spinning first, then sleeping on the producer's head.
        /// Returns the message in place (call `release()` after reading), or `nil` if
        /// `timeout` passed first.
        @inlinable
        public mutating func waitForMessage(
            timeout: Duration? = nil, strategy: SpinThenWait = SpinThenWait()
        ) throws(SharedMemoryError) -> UnsafeRawBufferPointer? {
            // The fast path inline in the caller; waiting for a message is the slow path.
            if let message = peek() { return message }
            return try waitForProducer(timeout: timeout, strategy: strategy)
        }

        @usableFromInline
        mutating func waitForProducer(timeout: Duration?, strategy: SpinThenWait)
            throws(SharedMemoryError) -> UnsafeRawBufferPointer?
        {
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + $0 }
            while true {
                if let message = peek() { return message }
                shared.consumerSleeping.pointee.store(1, ordering: .sequentiallyConsistent)
                defer { shared.consumerSleeping.pointee.store(0, ordering: .relaxed) }
                if shared.head.pointee.load(ordering: .sequentiallyConsistent) != tail { continue }
                let remaining = deadline.map { clock.now.duration(to: $0) }
                if let remaining, remaining <= .zero { return nil }
                _ = try strategy.wait(on: shared.headWord, whileValueIs: UInt32(truncatingIfNeeded: tail), timeout: remaining)
            }
        }

        /// Waits for the next message and copies it into `buffer`; its length, or `nil` at the timeout.
        @inlinable
        public mutating func receive(
            into buffer: UnsafeMutableRawBufferPointer, timeout: Duration? = nil, strategy: SpinThenWait = SpinThenWait()
        ) throws(SharedMemoryError) -> Int? {
            guard let message = try waitForMessage(timeout: timeout, strategy: strategy) else { return nil }
            return try copyAndRelease(message, into: buffer)
        }
    }
}
