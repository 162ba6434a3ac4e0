import CSharedMemoryShims
import SystemPackage
import Synchronization

extension SPSCRing {
    /// One of the ring's two sides.
    @usableFromInline
    enum Side: Sendable {
        case producer, consumer
    }

    /// The shared part both sides point into, checked once when a side attaches.
    @usableFromInline
    struct Shared: @unchecked Sendable {
        // @unchecked: pointers into shared memory, touched through atomics or by one side only.
        @usableFromInline let region: any SharedRegion
        @usableFromInline let head: UnsafeMutablePointer<Atomic<UInt64>>
        @usableFromInline let tail: UnsafeMutablePointer<Atomic<UInt64>>
        /// 0, or 1 + the position the sleeping side waits to see change (the head for the
        /// consumer, the tail for the producer): the other side wakes it only from the one
        /// publication that moves that position, not at every message while the flag stays set.
        @usableFromInline let consumerSleeping: UnsafeMutablePointer<Atomic<UInt64>>
        @usableFromInline let producerSleeping: UnsafeMutablePointer<Atomic<UInt64>>
        let producerFlags: UnsafeMutablePointer<Atomic<UInt32>>
        let consumerFlags: UnsafeMutablePointer<Atomic<UInt32>>
        /// Each side's three counters: futex waits, futex wakes, barriers.
        let producerCounters: UnsafeMutablePointer<Atomic<UInt64>>
        let consumerCounters: UnsafeMutablePointer<Atomic<UInt64>>
        /// The futex words are the low halves of head and tail (little-endian Linux).
        @usableFromInline let headWord: FutexWord
        @usableFromInline let tailWord: FutexWord
        @usableFromInline let data: UnsafeMutableRawPointer
        @usableFromInline let capacity: Int
        /// The consumer gives room back once it has this many bytes to give (or finds the ring empty).
        @usableFromInline let returnBatch: Int
        /// This process is registered for `membarrier`: its fast paths skip the fence after
        /// publishing, and a side about to sleep issues the barrier instead.
        @usableFromInline let processBarrier: Bool
        /// Another process can make the region's object smaller under this mapping (a POSIX or
        /// file object, an unsealed memfd), so the copying calls copy under the `SIGBUS` guard.
        /// `false` for a System V segment or a memfd sealed against shrinking, which cannot be
        /// cut: their copies are plain `memcpy`.
        @usableFromInline let copiesGuarded: Bool

        init(region: any SharedRegion, offset: Int, side: Side) throws(SharedMemoryError) {
            let operation = side == .producer ? "SPSCRing.Producer" : "SPSCRing.Consumer"
            let header = try RegionSlot.pointer(
                to: UInt8.self, count: SPSCRing.dataOffset, at: offset, in: region, aligned: false, writing: true,
                operation: operation)
            try Self.checkAlignment(header, offset: offset, region: region, operation: operation)
            func atomic<T>(_ field: Int, _ type: T.Type) -> UnsafeMutablePointer<Atomic<T>> {
                (header + field).bindMemory(to: Atomic<T>.self, capacity: 1)
            }
            let identifier = atomic(0, UInt64.self).pointee.load(ordering: .acquiring)
            if let version = SPSCRing.earlierIdentifiers[identifier] {
                throw SharedMemoryError(
                    code: .layoutMismatch, operation: operation, address: region.address.description,
                    message: "the ring at offset \(offset) has layout \(version); this library speaks layout 3",
                    hint: "build both sides with the same SharedMemory version, or make the ring anew")
            }
            guard identifier == SPSCRing.identifier else {
                throw SharedMemoryError(
                    code: .layoutMismatch, operation: operation, address: region.address.description,
                    message: "no initialized ring at offset \(offset)",
                    hint: "call SPSCRing.initialize once before attaching a producer or consumer")
            }
            let capacity = header.load(fromByteOffset: SPSCRing.capacityOffset, as: UInt64.self)
            let room = UInt64(region.byteCount - offset - SPSCRing.dataOffset)
            guard capacity >= 64, capacity.nonzeroBitCount == 1, capacity <= UInt64(SPSCRing.maximumCapacity),
                capacity <= room
            else {
                throw .corrupted(
                    operation, region.address, field: "capacity", value: capacity,
                    rule: "a ring's capacity is a power of two from 64 to 2^31 that fits the \(room) bytes after its header")
            }
            self.region = region
            self.capacity = Int(capacity)
            // Small enough that a producer waiting for room rarely exhausts its spin, large enough
            // that the tail's line moves once per several small messages.
            returnBatch = min(Int(capacity) / 4, 4096)
            maximumMessageByteCount = Int(capacity) / 2 - SPSCRing.recordHeaderByteCount
            data = try RegionSlot.pointer(
                to: UInt8.self, count: Int(capacity), at: offset + SPSCRing.dataOffset, in: region, aligned: false,
                writing: true, operation: operation)
            head = atomic(SPSCRing.headOffset, UInt64.self)
            tail = atomic(SPSCRing.tailOffset, UInt64.self)
            producerCounters = atomic(SPSCRing.headOffset + SPSCRing.countersAfterPosition, UInt64.self)
            consumerCounters = atomic(SPSCRing.tailOffset + SPSCRing.countersAfterPosition, UInt64.self)
            consumerSleeping = atomic(SPSCRing.consumerSleepingOffset, UInt64.self)
            producerSleeping = atomic(SPSCRing.producerSleepingOffset, UInt64.self)
            producerFlags = atomic(SPSCRing.producerFlagsOffset, UInt32.self)
            consumerFlags = atomic(SPSCRing.consumerFlagsOffset, UInt32.self)
            headWord = try FutexWord(in: region, at: offset + SPSCRing.headOffset)
            tailWord = try FutexWord(in: region, at: offset + SPSCRing.tailOffset)
            processBarrier = ProcessBarrier.registered
            copiesGuarded = Self.canBeCut(region)
            (side == .producer ? producerFlags : consumerFlags).pointee.store(
                processBarrier ? SPSCRing.skipsFenceFlag : 0, ordering: .relaxed)
        }

        static func checkAlignment(
            _ address: UnsafeMutableRawPointer, offset: Int, region: any SharedRegion, operation: String
        ) throws(SharedMemoryError) {
            guard Int(bitPattern: address) % 64 == 0 else {
                throw SharedMemoryError(
                    code: .misaligned, operation: operation, address: region.address.description,
                    message: "a ring must start on a 64-byte boundary; offset \(offset) does not",
                    hint: "place the ring at an offset that is a multiple of 64")
            }
        }

        /// A spin-wait hint (x86 `pause`, about 30 ns here; Arm `yield`), for `trySend` finding
        /// the ring full: a producer retrying at once no longer floods the tail's line while the
        /// consumer, the slower side then, needs it (`shm compare`, 64 B against a busy consumer:
        /// from 10-30 to 60-70 M msg/s). `tryReceive` does not pause: finding the ring empty means
        /// the producer is the slower side, and a pause there only delays the next message
        /// (it held polling at about 22 M msg/s).
        @inlinable @inline(__always)
        static func pauseWhileWaiting() { CSharedMemoryShims_spin_hint() }

        /// Whether another process can make `region`'s object smaller under its mapping: not a
        /// System V segment (its size is fixed at `shmget`), nor a memfd sealed against shrinking
        /// (`fcntl(F_GET_SEALS)`; a seal is never removed, so asking once is enough).
        static func canBeCut(_ region: any SharedRegion) -> Bool {
            if region is SystemVRegion { return false }
            if let memfd = region as? MemfdRegion, let seals = try? memfd.seals, seals.contains(.shrink) { return false }
            return true
        }

        /// Copies a message into or out of the ring: under the `SIGBUS` guard where the object
        /// can be cut, plain `memcpy` where it cannot; `.success(0)` when copied, otherwise the
        /// outcome for `copyFailure`. Static, and given only what it needs: a method on `Shared`
        /// made the optimizer copy all of it per message, and passing the region cost a retain and
        /// a release; the region is needed only for a failure's error.
        @inlinable @inline(__always)
        static func copy(
            from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, sending: Bool,
            guarded: Bool
        ) -> Result<Int32, Errno> {
            guard guarded else {
                destination.copyMemory(from: source, byteCount: count)
                return .success(0)
            }
            return guardedCopy(from: source, to: destination, count: count, sending: sending)
        }

        /// `CSharedMemoryShims_guarded_copy`: 0 when copied, 1 when the object was cut short of
        /// the shared side (the copy stopped there), `errno` when the handler could not be installed.
        @usableFromInline
        static func guardedCopy(
            from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, sending: Bool
        ) -> Result<Int32, Errno> {
            let shared = sending ? UnsafeRawPointer(destination) : source
            return SystemCall.value(retryingInterrupts: false) {
                CSharedMemoryShims_guarded_copy(destination, source, count, shared)
            }
        }

        /// The error of a guarded copy that did not complete (the cold path).
        @usableFromInline @inline(never)
        func copyFailure(
            _ outcome: Result<Int32, Errno>, at shared: UnsafeRawPointer, count: Int, sending: Bool
        ) -> SharedMemoryError {
            let operation = sending ? "SPSCRing.send" : "SPSCRing.receive"
            switch outcome {
            case .success:
                return .truncated(
                    operation, region.address, offset: shared - UnsafeRawPointer(region.baseAddress), count: count,
                    byteCount: region.byteCount)
            case .failure(let errno):
                return SharedMemoryError(operation: "sigaction", address: region.address, errno: errno)
            }
        }

        /// Head and tail as a side finds them when it attaches, checked.
        func positions(_ side: Side) throws(SharedMemoryError) -> (head: UInt64, tail: UInt64) {
            let head = head.pointee.load(ordering: .acquiring)
            let tail = tail.pointee.load(ordering: .acquiring)
            let operation = side == .producer ? "SPSCRing.Producer" : "SPSCRing.Consumer"
            guard head % 8 == 0 else {
                throw .corrupted(operation, region.address, field: "head", value: head, rule: "positions are multiples of 8")
            }
            guard tail % 8 == 0 else {
                throw .corrupted(operation, region.address, field: "tail", value: tail, rule: "positions are multiples of 8")
            }
            guard head &- tail <= UInt64(capacity) else { throw corruptedHead(head, tail: tail, operation) }
            return (head, tail)
        }

        /// The largest message this ring carries: `capacity / 2 - 8`.
        @usableFromInline let maximumMessageByteCount: Int

        /// The length word of a message: with the aligned-payload bit for a message of 128 bytes
        /// or more whose record fits wherever it starts (its bytes rounded to 8 at most
        /// `capacity / 2 - 64`). Callers pass at most `maximumMessageByteCount`.
        @inlinable
        static func lengthWord(_ messageByteCount: Int, capacity: Int) -> UInt64 {
            let word = UInt64(truncatingIfNeeded: messageByteCount)
            return messageByteCount >= SPSCRing.alignedPayloadMinimum && padded(messageByteCount) <= capacity / 2 &- 64
                ? word | SPSCRing.alignedPayloadFlag : word
        }

        /// Where the message of the record at data offset `offset` starts.
        @inlinable
        static func payloadOffset(_ offset: Int, word: UInt64) -> Int {
            let packed = offset &+ SPSCRing.recordHeaderByteCount
            return word & SPSCRing.alignedPayloadFlag == 0 ? packed : (packed &+ 63) & ~63
        }

        /// Where the record at data offset `offset` ends. Wrapping arithmetic: callers pass a
        /// checked length (at most `maximumMessageByteCount`) and an offset inside the ring, so
        /// nothing overflows, and the fast path carries no overflow check (nor its trap).
        @inlinable
        static func recordEnd(_ offset: Int, word: UInt64) -> Int {
            payloadOffset(offset, word: word) &+ padded(Int(truncatingIfNeeded: word & ~SPSCRing.alignedPayloadFlag))
        }

        /// A message's bytes rounded up to 8.
        @inlinable
        static func padded(_ byteCount: Int) -> Int { (byteCount &+ 7) & ~7 }

        /// The error for a message larger than the ring can ever carry (the cold path).
        @usableFromInline @inline(never)
        func tooLarge(_ byteCount: Int, _ operation: String) -> SharedMemoryError {
            SharedMemoryError(
                code: .invalidSize, operation: operation, address: region.address.description,
                message: "a \(byteCount)-byte message does not fit here (a ring of \(capacity) bytes carries up to "
                    + "\(maximumMessageByteCount))",
                hint: "make the ring larger, or the buffer at least maximumMessageByteCount bytes")
        }

        // MARK: The sleep protocol

        /// Between publishing a position and reading the other side's sleep flag. A registered
        /// process needs only the compiler to keep the two in order: a side about to sleep makes
        /// this CPU execute a full barrier (membarrier) between its announcement and its re-check.
        @inlinable
        func orderPublicationBeforeSleepCheck() {
            if processBarrier {
                ProcessBarrier.compilerOnly()
            } else {
                atomicMemoryFence(ordering: .sequentiallyConsistent)
            }
        }

        /// The sleeping half: announce (the flag holds `position + 1`), order the announcement
        /// before the re-check (membarrier, or a full fence), re-check that `word` (the low half
        /// of the other side's position) still holds `position`'s low half, and sleep on it.
        @usableFromInline
        func sleep(_ side: Side, on word: FutexWord, whilePositionIs position: UInt64, timeout: Duration?)
            throws(SharedMemoryError)
        {
            let flag = side == .consumer ? consumerSleeping : producerSleeping
            let counters = side == .consumer ? consumerCounters : producerCounters
            Self.increment(counters + 2)
            flag.pointee.store(position &+ 1, ordering: .relaxed)
            defer { flag.pointee.store(0, ordering: .relaxed) }
            var wakeGuaranteed = true
            if !(processBarrier && ProcessBarrier.onEveryRegisteredCPU()) {
                atomicMemoryFence(ordering: .sequentiallyConsistent)
                // A peer that skips its fence relies on our membarrier, which failed: it may
                // miss the announcement, so sleep in short slices rather than trust a wake-up.
                let peerFlags = side == .consumer ? producerFlags : consumerFlags
                wakeGuaranteed = peerFlags.pointee.load(ordering: .relaxed) & SPSCRing.skipsFenceFlag == 0
            }
            let expected = UInt32(truncatingIfNeeded: position)
            guard word.load() == expected else { return }
            Self.increment(counters)
            let slice: Duration? = wakeGuaranteed ? timeout : min(timeout ?? .milliseconds(1), .milliseconds(1))
            _ = try word.wait(whileValueIs: expected, timeout: slice)
        }

        /// Wakes the side that announced it sleeps until the position just moved from where it
        /// was (the cold path of publishing). Only that publication wakes: either the sleeper's
        /// re-check saw it, or this side saw the announcement after it (the barriers see to it),
        /// and the kernel orders the wake after the publication, so no wake-up is lost.
        @usableFromInline @inline(never)
        func wake(_ sleeper: Side) {
            Self.increment((sleeper == .consumer ? producerCounters : consumerCounters) + 1)
            (sleeper == .consumer ? headWord : tailWord).wake()
        }

        /// Counters have one writer each: a plain read and write, no locked instruction.
        static func increment(_ counter: UnsafeMutablePointer<Atomic<UInt64>>) {
            counter.pointee.store(counter.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        }

        var counters: Counters {
            func value(_ counters: UnsafeMutablePointer<Atomic<UInt64>>, _ index: Int) -> UInt64 {
                (counters + index).pointee.load(ordering: .relaxed)
            }
            return Counters(
                producerWaits: value(producerCounters, 0), consumerWaits: value(consumerCounters, 0),
                producerWakes: value(producerCounters, 1), consumerWakes: value(consumerCounters, 1),
                producerBarriers: value(producerCounters, 2), consumerBarriers: value(consumerCounters, 2))
        }

        // MARK: Corruption (the cold paths of the checks)

        @usableFromInline @inline(never)
        func corruptedHead(_ head: UInt64, tail: UInt64, _ operation: String) -> SharedMemoryError {
            head % 8 != 0
                ? .corrupted(operation, region.address, field: "head", value: head, rule: "positions are multiples of 8")
                : .corrupted(
                    operation, region.address, field: "head", value: head,
                    rule: "it must be from 0 to \(capacity) bytes ahead of the tail (\(tail)) in a ring of \(capacity) bytes")
        }

        @usableFromInline @inline(never)
        func corruptedTail(_ tail: UInt64, knownTail: UInt64, head: UInt64) -> SharedMemoryError {
            tail % 8 != 0
                ? .corrupted(
                    "SPSCRing.Producer", region.address, field: "tail", value: tail, rule: "positions are multiples of 8")
                : .corrupted(
                    "SPSCRing.Producer", region.address, field: "tail", value: tail,
                    rule: "it must lie between the tail last seen (\(knownTail)) and the head (\(head)): "
                        + "a tail never runs backwards nor past the head")
        }

        /// A record header (its length, or a wrap marker) at `position` that breaks the layout.
        @usableFromInline @inline(never)
        func corruptedRecord(length: UInt64, at position: UInt64, head: UInt64) -> SharedMemoryError {
            let offset = position & UInt64(capacity - 1)
            if length == SPSCRing.wrapMarker {
                return .corrupted(
                    "SPSCRing.Consumer", region.address, field: "wrap marker at data offset \(offset)", value: length,
                    rule: offset == 0
                        ? "a record that starts at offset 0 cannot be wrapped"
                        : "the head (\(head)) leaves no record after it")
            }
            return .corrupted(
                "SPSCRing.Consumer", region.address, field: "record length at data offset \(offset)", value: length,
                rule: "a message is at most \(maximumMessageByteCount) bytes (bit 63 marks one of at least "
                    + "\(SPSCRing.alignedPayloadMinimum) bytes, 64-byte aligned) and its record must lie inside the ring and "
                    + "before the head (\(head))")
        }
    }
}
