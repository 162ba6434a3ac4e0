import SystemPackage
import Synchronization

extension SPSCRing {
    /// The receiving side of a ring. Use one consumer per ring, from one thread at a time, in
    /// the process that attached it.
    public struct Consumer: @unchecked Sendable {
        // @unchecked: a consumer may move to another thread, but only one may use it at once.
        @usableFromInline let shared: Shared
        /// Bytes consumed so far.
        @usableFromInline var tail: UInt64
        /// The tail as last stored in the region (room given back to the producer): it lags
        /// `tail` by less than `returnBatch` bytes while messages keep coming.
        @usableFromInline var publishedTail: UInt64
        /// The producer's head as last read and checked: re-read only when the ring looks empty.
        @usableFromInline var knownHead: UInt64
        /// Where the record being read between `peek` and `release` ends.
        @usableFromInline var peekedEnd: UInt64?

        /// A record found in the ring: its message in place, and the tail after it.
        @usableFromInline typealias Record = (message: UnsafeRawBufferPointer, end: UInt64)

        /// Attaches to the ring at `offset`, which `SPSCRing.initialize` made.
        ///
        /// - Parameters:
        ///   - region: the region holding the ring, mapped read-write.
        ///   - offset: where the ring starts in the region (64-byte aligned).
        /// - Throws: `.layoutMismatch` if there is no ring there; `.corrupted` if its capacity,
        ///   head or tail break the layout (another process wrote them).
        public init(in region: any SharedRegion, at offset: Int = 0) throws(SharedMemoryError) {
            shared = try Shared(region: region, offset: offset, side: .consumer)
            (knownHead, tail) = try shared.positions(.consumer)
            publishedTail = tail
        }

        /// The largest message this ring carries: `capacity / 2 - 8`.
        public var maximumMessageByteCount: Int { shared.maximumMessageByteCount }

        /// The ring's counters of system calls and barriers, both sides.
        public var counters: Counters { shared.counters }

        /// The next message, in place, or `nil` if the ring is empty now. Read it, then
        /// `release()` to let it go. Finding the ring empty gives the producer back all the room
        /// released so far.
        ///
        /// The view points into shared memory that the producer could still write (a bug or a
        /// hostile peer): copy what you must check before you trust it.
        ///
        /// - Throws: `.corrupted` if the head or the record's length break the layout; nothing
        ///   outside the ring is read.
        @inlinable @inline(__always)
        public mutating func peek() throws(SharedMemoryError) -> UnsafeRawBufferPointer? {
            guard let record = try nextRecord() else { return nil }
            peekedEnd = record.end
            return record.message
        }

        /// The next message in place and where its record ends, or `nil` if the ring is empty now.
        /// The copying calls use it without `peekedEnd`: as the producer's, each store the fast
        /// path saves is room in the store buffer.
        @inlinable @inline(__always)
        mutating func nextRecord() throws(SharedMemoryError) -> Record? {
            if knownHead == tail {
                if publishedTail != tail { publishTail() }
                let head = shared.head.pointee.load(ordering: .acquiring)
                guard head % 8 == 0, head &- tail <= UInt64(truncatingIfNeeded: shared.capacity) else {
                    throw shared.corruptedHead(head, tail: tail, "SPSCRing.Consumer")
                }
                knownHead = head
                if head == tail { return nil }
            }
            // Checked against the head before anything is read: `available` is 8...capacity.
            // Wrapping arithmetic throughout: every value is bounded by the checks, so the fast
            // path carries no overflow check (nor its trap).
            let capacity = shared.capacity
            let available = Int(truncatingIfNeeded: knownHead &- tail)
            var offset = Int(truncatingIfNeeded: tail) & (capacity &- 1)
            var skipped = 0
            var word = (shared.data + offset).load(as: UInt64.self)
            if word == SPSCRing.wrapMarker {
                skipped = capacity &- offset
                guard offset != 0, skipped < available else {
                    throw shared.corruptedRecord(length: word, at: tail, head: knownHead)
                }
                offset = 0
                word = shared.data.load(as: UInt64.self)
            }
            // The length, and the aligned-payload bit only on a message of at least 128 bytes.
            let length = word & ~SPSCRing.alignedPayloadFlag
            guard length <= UInt64(truncatingIfNeeded: shared.maximumMessageByteCount),
                word == length || length >= UInt64(truncatingIfNeeded: SPSCRing.alignedPayloadMinimum)
            else {
                throw shared.corruptedRecord(length: word, at: tail &+ UInt64(truncatingIfNeeded: skipped), head: knownHead)
            }
            let end = Shared.recordEnd(offset, word: word)
            guard skipped &+ (end &- offset) <= available, end <= capacity else {
                throw shared.corruptedRecord(length: word, at: tail &+ UInt64(truncatingIfNeeded: skipped), head: knownHead)
            }
            return Record(
                message: UnsafeRawBufferPointer(
                    start: shared.data + Shared.payloadOffset(offset, word: word), count: Int(truncatingIfNeeded: length)),
                end: tail &+ UInt64(truncatingIfNeeded: skipped &+ (end &- offset)))
        }

        /// Lets the peeked message go. Its room returns to the producer with the next batch
        /// (4 KiB, or a quarter of a smaller ring), or as soon as this side finds the ring empty.
        @inlinable @inline(__always)
        public mutating func release() {
            guard let end = peekedEnd else { return }
            peekedEnd = nil
            advance(to: end)
        }

        /// Consumes up to `end`, giving the room back once there is a batch of it.
        @inlinable @inline(__always)
        mutating func advance(to end: UInt64) {
            tail = end
            if Int(truncatingIfNeeded: tail &- publishedTail) >= shared.returnBatch { publishTail() }
        }

        /// Stores the tail, giving the room released so far back, and wakes the producer if it
        /// announced that it sleeps.
        @inlinable @inline(__always)
        mutating func publishTail() {
            let previous = publishedTail
            publishedTail = tail
            shared.tail.pointee.store(tail, ordering: .releasing)
            shared.orderPublicationBeforeSleepCheck()
            // A producer asleep until the tail moves from where it just was.
            if shared.producerSleeping.pointee.load(ordering: .relaxed) == previous &+ 1 { shared.wake(.producer) }
        }

        /// Copies the next message into `buffer` and releases it; its length, or `nil` if the
        /// ring is empty now.
        ///
        /// - Throws: `.invalidSize` if `buffer` is smaller than the message (which stays in the
        ///   ring); `.corrupted` as `peek()` does; `.truncated` if another process cut the ring's
        ///   object short of the message (the copy is guarded; the message is not released).
        @inlinable @inline(__always)
        public mutating func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(SharedMemoryError) -> Int? {
            guard let record = try nextRecord() else { return nil }
            return try copyAndAdvance(record, into: buffer)
        }

        /// The one copy out of the ring.
        @inlinable @inline(__always)
        mutating func copyAndAdvance(_ record: Record, into buffer: UnsafeMutableRawBufferPointer) throws(SharedMemoryError)
            -> Int
        {
            let message = record.message
            guard message.count <= buffer.count else { throw shared.tooLarge(message.count, "SPSCRing.receive") }
            // A ring another process cut short is `.truncated`, and the message is not released.
            if let source = message.baseAddress, let destination = buffer.baseAddress {
                let outcome = Shared.copy(
                    from: source, to: destination, count: message.count, sending: false, guarded: shared.copiesGuarded)
                guard case .success(0) = outcome else {
                    throw shared.copyFailure(outcome, at: source, count: message.count, sending: false)
                }
            }
            // A message peeked before is this one, now consumed: no `release()` may move the tail back
            // to it. Cleared only if set, so the copying calls store nothing more per message.
            if peekedEnd != nil { peekedEnd = nil }
            advance(to: record.end)
            return message.count
        }

        /// Waits for the next message: spinning first (`strategy.spins` re-reads of the head),
        /// then announcing that it sleeps and sleeping on the head (`futex(FUTEX_WAIT)`).
        /// Returns the message in place (call `release()` after reading), or `nil` if `timeout`
        /// passed first.
        ///
        /// - Throws: `.corrupted` as `peek()` does; a `futex` failure other than a timeout.
        @inlinable @inline(__always)
        public mutating func waitForMessage(
            timeout: Duration? = nil, strategy: SpinThenWait = SPSCRing.defaultWaitStrategy
        ) throws(SharedMemoryError) -> UnsafeRawBufferPointer? {
            guard let record = try waitForRecord(timeout: timeout, strategy: strategy) else { return nil }
            peekedEnd = record.end
            return record.message
        }

        /// The next record as `nextRecord()` finds it, waiting for the producer if there is none
        /// now: the fast path inline in the caller, the wait out of line.
        @inlinable @inline(__always)
        mutating func waitForRecord(timeout: Duration?, strategy: SpinThenWait) throws(SharedMemoryError) -> Record? {
            if let record = try nextRecord() { return record }
            return try waitForProducer(timeout: timeout, strategy: strategy)
        }

        @usableFromInline
        mutating func waitForProducer(timeout: Duration?, strategy: SpinThenWait) throws(SharedMemoryError) -> Record? {
            for _ in 0..<strategy.spins {
                if let record = try nextRecord() { return record }
            }
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + $0 }
            while true {
                if let record = try nextRecord() { return record }
                let remaining = deadline.map { clock.now.duration(to: $0) }
                if let remaining, remaining <= .zero { return nil }
                // Empty: head == tail, whose low half the head's futex word must still hold.
                try shared.sleep(.consumer, on: shared.headWord, whilePositionIs: tail, timeout: remaining)
            }
        }

        /// Waits for the next message and copies it into `buffer`; its length, or `nil` at the
        /// timeout. Waits as `waitForMessage` does.
        ///
        /// - Throws: `.invalidSize` if `buffer` is smaller than the message (which stays in the
        ///   ring); `.corrupted` as `peek()` does; `.truncated` if another process cut the ring's
        ///   object short of the message (the copy is guarded; the message is not released).
        @inlinable @inline(__always)
        public mutating func receive(
            into buffer: UnsafeMutableRawBufferPointer, timeout: Duration? = nil,
            strategy: SpinThenWait = SPSCRing.defaultWaitStrategy
        ) throws(SharedMemoryError) -> Int? {
            guard let record = try waitForRecord(timeout: timeout, strategy: strategy) else { return nil }
            return try copyAndAdvance(record, into: buffer)
        }
    }
}
