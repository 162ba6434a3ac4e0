import SystemPackage
import Synchronization

extension SPSCRing {
    /// The sending side of a ring. Use one producer per ring, from one thread at a time, in
    /// the process that attached it.
    public struct Producer: @unchecked Sendable {
        // @unchecked: a producer may move to another thread, but only one may use it at once.
        @usableFromInline let shared: Shared
        /// Bytes published so far (the shared head, which only this side writes).
        @usableFromInline var head: UInt64
        /// The consumer's tail as last read and checked: re-read only when the ring looks full.
        @usableFromInline var knownTail: UInt64
        /// The record being written between `reserve` and `publish`.
        @usableFromInline var reservation: Record?

        /// A record about to be written: its data offset, its length word, and the head after it.
        @usableFromInline typealias Record = (offset: Int, word: UInt64, end: UInt64)

        /// Attaches to the ring at `offset`, which `SPSCRing.initialize` made.
        ///
        /// - Parameters:
        ///   - region: the region holding the ring, mapped read-write.
        ///   - offset: where the ring starts in the region (64-byte aligned).
        /// - Throws: `.layoutMismatch` if there is no ring there; `.corrupted` if its capacity,
        ///   head or tail break the layout (another process wrote them).
        public init(in region: any SharedRegion, at offset: Int = 0) throws(SharedMemoryError) {
            shared = try Shared(region: region, offset: offset, side: .producer)
            (head, knownTail) = try shared.positions(.producer)
        }

        /// The largest message this ring carries: `capacity / 2 - 8`.
        public var maximumMessageByteCount: Int { shared.maximumMessageByteCount }

        /// The ring's counters of system calls and barriers, both sides.
        public var counters: Counters { shared.counters }

        /// Room for a message of `byteCount` bytes to be written in place, or `nil` if the ring
        /// has no room now. Write the message, then `publish()`.
        ///
        /// - Throws: `.invalidSize` if the message can never fit; `.corrupted` if the tail the
        ///   consumer stored breaks the layout.
        @inlinable @inline(__always)
        public mutating func reserve(_ byteCount: Int) throws(SharedMemoryError) -> UnsafeMutableRawBufferPointer? {
            guard let record = try room(for: byteCount) else { return nil }
            reservation = record
            return slot(record, byteCount)
        }

        /// Where a message of `byteCount` bytes goes now: its record's data offset (after a wrap
        /// marker, if it wraps), its length word and the head after it; `nil` if there is no room.
        /// The copying calls use it without `reservation`: every store in the fast path is one
        /// more entry in the store buffer, which a producer waiting for the consumer's lines fills
        /// (the limit ring with 12 more stack stores per message ran at 0.64 of itself).
        @inlinable @inline(__always)
        mutating func room(for byteCount: Int) throws(SharedMemoryError) -> Record? {
            guard byteCount >= 0, byteCount <= shared.maximumMessageByteCount else {
                throw shared.tooLarge(byteCount, "SPSCRing.reserve")
            }
            // Wrapping arithmetic: every value is bounded by the capacity (checked when attached)
            // and the tail's check, so the fast path carries no overflow check (nor its trap).
            let capacity = shared.capacity
            let word = Shared.lengthWord(byteCount, capacity: capacity)
            let position = Int(truncatingIfNeeded: head) & (capacity &- 1)
            // A record never wraps: if it would, a marker fills the rest and it starts at 0.
            var end = Shared.recordEnd(position, word: word)
            let wraps = end > capacity
            if wraps { end = capacity &+ Shared.recordEnd(0, word: word) }
            let needed = end &- position
            if Int(truncatingIfNeeded: head &- knownTail) &+ needed > capacity, try !tailLeavesRoom(needed) { return nil }
            var start = position
            if wraps {
                (shared.data + position).storeBytes(of: SPSCRing.wrapMarker, as: UInt64.self)
                start = 0
            }
            return Record(offset: start, word: word, end: head &+ UInt64(truncatingIfNeeded: needed))
        }

        /// Re-reads the consumer's tail (the ring looked full by the one last seen); whether it
        /// leaves `needed` bytes. Out of line: once per batch the consumer gives back.
        @usableFromInline
        mutating func tailLeavesRoom(_ needed: Int) throws(SharedMemoryError) -> Bool {
            let tail = shared.tail.pointee.load(ordering: .acquiring)
            // Between the tail last seen and the head: never backwards, never past the head.
            guard tail % 8 == 0, tail &- knownTail <= head &- knownTail else {
                throw shared.corruptedTail(tail, knownTail: knownTail, head: head)
            }
            knownTail = tail
            return Int(truncatingIfNeeded: head &- tail) &+ needed <= shared.capacity
        }

        /// The message bytes of `record`.
        @inlinable @inline(__always)
        func slot(_ record: Record, _ byteCount: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(start: shared.data + Shared.payloadOffset(record.offset, word: record.word), count: byteCount)
        }

        /// Makes the reserved message visible to the consumer, and wakes it if it announced
        /// that it sleeps.
        @inlinable @inline(__always)
        public mutating func publish() {
            guard let record = reservation else { return }
            reservation = nil
            commit(record)
        }

        /// Writes `record`'s length word, publishes the head after it, and wakes the consumer if
        /// it sleeps until the head moves from where it was.
        @inlinable @inline(__always)
        mutating func commit(_ record: Record) {
            (shared.data + record.offset).storeBytes(of: record.word, as: UInt64.self)
            let previous = head
            head = record.end
            shared.head.pointee.store(head, ordering: .releasing)
            shared.orderPublicationBeforeSleepCheck()
            // A consumer asleep until the head moves from where it just was.
            if shared.consumerSleeping.pointee.load(ordering: .relaxed) == previous &+ 1 { shared.wake(.consumer) }
        }

        /// Waits for room for a message of `byteCount` bytes, to be written in place: spinning
        /// first (`strategy.spins` re-reads of the tail), then announcing that it sleeps and
        /// sleeping on the tail (`futex(FUTEX_WAIT)`). Write the message, then `publish()`.
        /// `nil` if `timeout` passed first.
        ///
        /// - Throws: as `reserve(_:)`; a `futex` failure other than a timeout.
        @inlinable @inline(__always)
        public mutating func waitForRoom(
            _ byteCount: Int, timeout: Duration? = nil, strategy: SpinThenWait = SPSCRing.defaultWaitStrategy
        ) throws(SharedMemoryError) -> UnsafeMutableRawBufferPointer? {
            guard let record = try waitForRecord(byteCount, timeout: timeout, strategy: strategy) else { return nil }
            reservation = record
            return slot(record, byteCount)
        }

        /// Room as `room(for:)` finds it, waiting for the consumer if there is none now: the fast
        /// path inline in the caller, the wait out of line.
        @inlinable @inline(__always)
        mutating func waitForRecord(_ byteCount: Int, timeout: Duration?, strategy: SpinThenWait)
            throws(SharedMemoryError) -> Record?
        {
            if let record = try room(for: byteCount) { return record }
            return try waitForConsumer(byteCount, timeout: timeout, strategy: strategy)
        }

        @usableFromInline
        mutating func waitForConsumer(_ byteCount: Int, timeout: Duration?, strategy: SpinThenWait)
            throws(SharedMemoryError) -> Record?
        {
            for _ in 0..<strategy.spins {
                if let record = try room(for: byteCount) { return record }
            }
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + $0 }
            while true {
                if let record = try room(for: byteCount) { return record }
                let remaining = deadline.map { clock.now.duration(to: $0) }
                if let remaining, remaining <= .zero { return nil }
                // No room: sleep while the tail the failed attempt read is still there.
                try shared.sleep(.producer, on: shared.tailWord, whilePositionIs: knownTail, timeout: remaining)
            }
        }

        /// Copies `message` in and publishes it; `false` if the ring has no room now, after one
        /// spin-loop hint (x86 `pause`), so that a caller retrying at once does not flood the line
        /// the consumer is about to write.
        ///
        /// - Throws: as `reserve(_:)`; `.truncated` if another process cut the ring's object short
        ///   of the slot (the copy is guarded where the object can be cut; the message is not
        ///   published).
        @inlinable @inline(__always)
        public mutating func trySend(_ message: UnsafeRawBufferPointer) throws(SharedMemoryError) -> Bool {
            guard let record = try room(for: message.count) else {
                Shared.pauseWhileWaiting()
                return false
            }
            try copyAndCommit(message, into: record)
            return true
        }

        /// Copies `message` in and publishes it, waiting for room as `waitForRoom` does;
        /// `false` if `timeout` passed first.
        ///
        /// - Throws: as `waitForRoom(_:timeout:strategy:)`; `.truncated` as `trySend`.
        @inlinable @inline(__always)
        public mutating func send(
            _ message: UnsafeRawBufferPointer, timeout: Duration? = nil, strategy: SpinThenWait = SPSCRing.defaultWaitStrategy
        ) throws(SharedMemoryError) -> Bool {
            guard let record = try waitForRecord(message.count, timeout: timeout, strategy: strategy) else { return false }
            try copyAndCommit(message, into: record)
            return true
        }

        /// The one copy into the ring.
        @inlinable @inline(__always)
        mutating func copyAndCommit(_ message: UnsafeRawBufferPointer, into record: Record) throws(SharedMemoryError) {
            // A ring another process cut short is `.truncated`, and the message is not published.
            if let source = message.baseAddress, let destination = slot(record, message.count).baseAddress {
                let outcome = Shared.copy(
                    from: source, to: destination, count: message.count, sending: true, guarded: shared.copiesGuarded)
                guard case .success(0) = outcome else {
                    throw shared.copyFailure(outcome, at: destination, count: message.count, sending: true)
                }
            }
            // A reservation made before is overwritten by this record: no `publish()` may move the
            // head back to it. Cleared only if set, so the copying calls store nothing more per message.
            if reservation != nil { reservation = nil }
            commit(record)
        }
    }
}
