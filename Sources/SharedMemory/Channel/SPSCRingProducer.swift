import Synchronization

extension SPSCRing {
    /// The sending side of a ring. Use one producer per ring, from one thread at a time.
    public struct Producer: @unchecked Sendable {
        // @unchecked: a producer may move to another thread, but only one may use it at once.
        @usableFromInline let shared: Shared
        /// Bytes published so far (the shared head, which only this side writes).
        @usableFromInline var head: UInt64
        /// The consumer's tail as last read: re-read only when the ring looks full.
        @usableFromInline var knownTail: UInt64
        /// The record being written between `reserve` and `publish`.
        @usableFromInline var reservation: (start: UInt64, byteCount: Int)?

        /// Attaches to the ring at `offset` (see `SPSCRing.initialize`).
        public init(in region: any SharedRegion, at offset: Int = 0) throws(SharedMemoryError) {
            shared = try Shared(region: region, offset: offset, side: "SPSCRing.Producer")
            head = shared.head.pointee.load(ordering: .relaxed)
            knownTail = shared.tail.pointee.load(ordering: .acquiring)
        }

        /// The largest message this ring carries: `capacity / 2 - 8`.
        public var maximumMessageByteCount: Int { shared.maximumMessageByteCount }

        /// Room for a message of `byteCount` bytes to be written in place, or `nil` if the ring
        /// has no room now. Write the message, then `publish()`.
        ///
        /// - Throws: `.invalidSize` if the message can never fit.
        @inlinable
        public mutating func reserve(_ byteCount: Int) throws(SharedMemoryError) -> UnsafeMutableRawBufferPointer? {
            guard byteCount >= 0, byteCount <= shared.maximumMessageByteCount else {
                throw shared.tooLarge(byteCount, "SPSCRing.reserve")
            }
            let record = Shared.recordByteCount(byteCount)
            let position = Int(head & UInt64(shared.capacity - 1))
            let untilEnd = shared.capacity - position
            // A record never wraps: if it would, a marker fills the rest and it starts at 0.
            let needed = record <= untilEnd ? record : untilEnd + record
            if Int(head &- knownTail) + needed > shared.capacity {
                knownTail = shared.tail.pointee.load(ordering: .acquiring)
                if Int(head &- knownTail) + needed > shared.capacity { return nil }
            }
            var start = head
            if record > untilEnd {
                (shared.data + position).storeBytes(of: SPSCRing.wrapMarker, as: UInt64.self)
                start = head &+ UInt64(untilEnd)
            }
            reservation = (start, byteCount)
            let offset = Int(start & UInt64(shared.capacity - 1))
            return UnsafeMutableRawBufferPointer(start: shared.data + offset + SPSCRing.recordHeaderByteCount, count: byteCount)
        }

        /// Makes the reserved message visible to the consumer, and wakes it if it sleeps.
        @inlinable
        public mutating func publish() {
            guard let (start, byteCount) = reservation else { return }
            reservation = nil
            let offset = Int(start & UInt64(shared.capacity - 1))
            (shared.data + offset).storeBytes(of: UInt64(byteCount), as: UInt64.self)
            head = start &+ UInt64(Shared.recordByteCount(byteCount))
            // Sequentially consistent store and load: a consumer that set its flag and then
            // saw no new head is certain to be seen sleeping here, so no wake-up is lost.
            shared.head.pointee.store(head, ordering: .sequentiallyConsistent)
            if shared.consumerSleeping.pointee.load(ordering: .sequentiallyConsistent) != 0 {
                shared.headWord.wake()
            }
        }

        /// Copies `message` in and publishes it; `false` if the ring has no room now.
        @inlinable
        public mutating func trySend(_ message: UnsafeRawBufferPointer) throws(SharedMemoryError) -> Bool {
            guard let slot = try reserve(message.count) else { return false }
            if let source = message.baseAddress { slot.baseAddress?.copyMemory(from: source, byteCount: message.count) }
            publish()
            return true
        }

        /// Copies `message` in and publishes it, waiting for room: spinning first, then
        /// sleeping on the consumer's tail. `false` if `timeout` passed first.
        @inlinable
        public mutating func send(
            _ message: UnsafeRawBufferPointer, timeout: Duration? = nil, strategy: SpinThenWait = SpinThenWait()
        ) throws(SharedMemoryError) -> Bool {
            // The fast path inline in the caller; waiting for room is the slow path.
            if try trySend(message) { return true }
            return try sendWaitingForRoom(message, timeout: timeout, strategy: strategy)
        }

        @usableFromInline
        mutating func sendWaitingForRoom(
            _ message: UnsafeRawBufferPointer, timeout: Duration?, strategy: SpinThenWait
        ) throws(SharedMemoryError) -> Bool {
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + $0 }
            while !(try trySend(message)) {
                // The tail the failed attempt saw (reserve re-reads it when the ring looks
                // full): sleep only while it has not moved since.
                let tail = knownTail
                shared.producerSleeping.pointee.store(1, ordering: .sequentiallyConsistent)
                defer { shared.producerSleeping.pointee.store(0, ordering: .relaxed) }
                if shared.tail.pointee.load(ordering: .sequentiallyConsistent) != tail { continue }
                let remaining = deadline.map { clock.now.duration(to: $0) }
                if let remaining, remaining <= .zero { return false }
                _ = try strategy.wait(on: shared.tailWord, whileValueIs: UInt32(truncatingIfNeeded: tail), timeout: remaining)
            }
            return true
        }
    }
}
