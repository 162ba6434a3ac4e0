import Synchronization

/// A single-producer, single-consumer ring of variable-length messages inside a region,
/// between two processes (or two threads).
///
/// The fast path allocates nothing, takes no lock and makes no syscall: a message costs a
/// copy (or none, with `reserve`/`publish` and `peek`/`release`) and one release store of a
/// position. Only a side that finds nothing to do and has spun a while sleeps (futex), and
/// only then does the other side pay for a wake-up.
///
/// Layout at `offset` (see `byteCount(capacity:)`), each part on its own 64-byte cache line
/// so that producer and consumer never write the same line:
///
/// | offset | contents |
/// |---|---|
/// | 0 | header: identifier, capacity |
/// | 64 | head: bytes ever published, written by the producer only |
/// | 128 | tail: bytes ever consumed, written by the consumer only |
/// | 192 | sleep flags, written only by a side about to sleep |
/// | 256 | `capacity` bytes of records: an 8-byte length, the message, padding to 8 |
///
/// A record that would run past the end is preceded by a wrap marker and starts again at
/// the beginning, so every message is contiguous: that is what makes zero-copy possible,
/// and why a message may be at most `capacity / 2 - 8` bytes.
public enum SPSCRing {
    @usableFromInline static let identifier: UInt64 = 0x5350_5343_5249_4E47  // "SPSCRING"
    @usableFromInline static let headerOffset = 0
    @usableFromInline static let headOffset = 64
    @usableFromInline static let tailOffset = 128
    @usableFromInline static let consumerSleepingOffset = 192
    @usableFromInline static let producerSleepingOffset = 196
    @usableFromInline static let dataOffset = 256
    @usableFromInline static let recordHeaderByteCount = 8
    @usableFromInline static let wrapMarker = UInt64.max

    /// The region bytes a ring of `capacity` data bytes takes.
    public static func byteCount(capacity: Int) -> Int { dataOffset + capacity }

    /// Writes an empty ring's header at `offset`. Do it once, before either side attaches
    /// (for example in `SharedMemory.openOrCreate(_:layout:initializer:)`).
    ///
    /// - Parameter capacity: data bytes, a power of two, at least 64.
    public static func initialize(in region: any SharedRegion, at offset: Int = 0, capacity: Int) throws(SharedMemoryError) {
        guard capacity >= 64, capacity.nonzeroBitCount == 1, capacity <= Int(UInt32.max) else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "SPSCRing.initialize", address: region.address.description,
                message: "capacity \(capacity) is not a power of two from 64 to 2^31",
                hint: "choose a power of two such as 65536; messages may be up to capacity / 2 - 8 bytes")
        }
        _ = try RegionSlot.pointer(
            to: UInt8.self, count: byteCount(capacity: capacity), at: offset, in: region, aligned: false,
            writing: true, operation: "SPSCRing.initialize")
        try region.storeArray([UInt8](repeating: 0, count: dataOffset), at: offset)
        try region.store(UInt64(capacity), at: offset + headerOffset + 8)
        // The identifier last: a side that attaches early sees no ring rather than a half-made one.
        try SharedAtomic<UInt64>(in: region, at: offset + headerOffset).withAtomic {
            $0.store(identifier, ordering: .releasing)
        }
    }

    /// The shared part both sides point into.
    @usableFromInline
    struct Shared: @unchecked Sendable {
        // @unchecked: pointers into shared memory, touched through atomics or by one side only.
        @usableFromInline let region: any SharedRegion
        @usableFromInline let head: UnsafeMutablePointer<Atomic<UInt64>>
        @usableFromInline let tail: UnsafeMutablePointer<Atomic<UInt64>>
        @usableFromInline let consumerSleeping: UnsafeMutablePointer<Atomic<UInt32>>
        @usableFromInline let producerSleeping: UnsafeMutablePointer<Atomic<UInt32>>
        @usableFromInline let headWord: FutexWord
        @usableFromInline let tailWord: FutexWord
        @usableFromInline let data: UnsafeMutableRawPointer
        @usableFromInline let capacity: Int

        init(region: any SharedRegion, offset: Int, side: String) throws(SharedMemoryError) {
            let header = try RegionSlot.pointer(
                to: UInt8.self, count: SPSCRing.dataOffset, at: offset, in: region, aligned: false, writing: true, operation: side)
            guard Int(bitPattern: header) % 64 == 0 else {
                throw SharedMemoryError(
                    code: .misaligned, operation: side, address: region.address.description,
                    message: "a ring must start on a 64-byte boundary; offset \(offset) does not",
                    hint: "place the ring at an offset that is a multiple of 64")
            }
            let identifier = try SharedAtomic<UInt64>(in: region, at: offset).withAtomic { $0.load(ordering: .acquiring) }
            let capacity = Int(try region.load(UInt64.self, at: offset + 8))
            guard identifier == SPSCRing.identifier, capacity.nonzeroBitCount == 1,
                offset + SPSCRing.byteCount(capacity: capacity) <= region.byteCount
            else {
                throw SharedMemoryError(
                    code: .layoutMismatch, operation: side, address: region.address.description,
                    message: "no initialized ring at offset \(offset)",
                    hint: "call SPSCRing.initialize once before attaching a producer or consumer")
            }
            func atomic<T>(_ field: Int, _ type: T.Type) -> UnsafeMutablePointer<Atomic<T>> {
                (header + field).bindMemory(to: Atomic<T>.self, capacity: 1)
            }
            self.region = region
            self.capacity = capacity
            head = atomic(SPSCRing.headOffset, UInt64.self)
            tail = atomic(SPSCRing.tailOffset, UInt64.self)
            consumerSleeping = atomic(SPSCRing.consumerSleepingOffset, UInt32.self)
            producerSleeping = atomic(SPSCRing.producerSleepingOffset, UInt32.self)
            // The futex words are the low halves of head and tail (little-endian Linux).
            headWord = try FutexWord(in: region, at: offset + SPSCRing.headOffset)
            tailWord = try FutexWord(in: region, at: offset + SPSCRing.tailOffset)
            data = header + SPSCRing.dataOffset
        }

        /// The largest message this ring carries.
        @usableFromInline var maximumMessageByteCount: Int { capacity / 2 - SPSCRing.recordHeaderByteCount }

        @inlinable
        static func recordByteCount(_ messageByteCount: Int) -> Int {
            SPSCRing.recordHeaderByteCount + (messageByteCount + 7) & ~7
        }

        /// The error for a message larger than the ring can ever carry (the cold path).
        @usableFromInline
        func tooLarge(_ byteCount: Int, _ operation: String) -> SharedMemoryError {
            SharedMemoryError(
                code: .invalidSize, operation: operation, address: region.address.description,
                message: "a \(byteCount)-byte message does not fit here (a ring of \(capacity) bytes carries up to "
                    + "\(maximumMessageByteCount))",
                hint: "make the ring larger, or the buffer at least maximumMessageByteCount bytes")
        }
    }
}
