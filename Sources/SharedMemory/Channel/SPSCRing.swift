import Synchronization

/// A single-producer, single-consumer ring of variable-length messages inside a region,
/// between two processes (or two threads). Docs/Channels.md describes its use and its layout.
///
/// While both sides are busy a message costs a copy (or none, with `reserve`/`publish` and
/// `peek`/`release`), a release store of the head and a plain load of the consumer's sleep
/// flag: no lock, no system call, no full fence, no allocation. The consumer gives room back in
/// batches (4 KiB, or a quarter of a smaller ring, or whenever it finds the ring empty). Only a side that finds
/// nothing to do and has spun a while announces that it sleeps; that side pays for the ordering
/// (`membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`, or a full fence on both sides where the
/// kernel lacks it), and only then does the other side pay for a `futex` wake-up. The protocol
/// is checked by the Spin model `SPSCRing.pml` beside this file.
///
/// Every position and length read from the region is checked before it is used: a peer that
/// writes garbage gets a `.corrupted` error, never a read or write outside the ring.
///
/// Layout at `offset` (64-byte aligned; see `byteCount(capacity:)`), each part on its own
/// 64-byte cache line so that producer and consumer never write the same line:
///
/// | offset | contents |
/// |---|---|
/// | 0 | identifier, capacity (u64 each); producer flags, consumer flags (u32 each) |
/// | 64 | head: bytes ever published (u64); the producer's futex waits, futex wakes, barriers |
/// | 128 | tail: bytes ever given back (u64); the consumer's futex waits, futex wakes, barriers |
/// | 192 | consumer sleeping, producer sleeping (u64 each: 0, or the number of the announcement) |
/// | 256 | `capacity` bytes of records: an 8-byte length word, the message, padding to 8 |
///
/// A length word with bit 63 set (a message of 128 bytes or more, where it fits) puts the
/// message at the next 64-byte boundary after the word rather than right after it: copies in and
/// out of cache-line-aligned memory (4 KiB: 0.7 to 0.9 of the limit ring, `shm compare`), while
/// small messages stay packed. A record that would run past the end is preceded by a wrap marker
/// and starts again at the beginning, so every message is contiguous: that is what makes
/// zero-copy possible, and why a message may be at most `capacity / 2 - 8` bytes.
public enum SPSCRing {
    /// "SPSCRNG3": the third layout (records with 64-byte-aligned messages; "SPSCRNG2" packed
    /// every message after its length word; 0.1.0's "SPSCRING" had 32-bit sleeping flags that
    /// meant only "asleep"); a side of another layout is refused rather than misread.
    @usableFromInline static let identifier: UInt64 = 0x5350_5343_524E_4733
    /// The identifiers of earlier layouts, named in the error that refuses them.
    static let earlierIdentifiers: [UInt64: Int] = [0x5350_5343_524E_4732: 2, 0x5350_5343_5249_4E47: 1]
    @usableFromInline static let capacityOffset = 8
    @usableFromInline static let producerFlagsOffset = 16
    @usableFromInline static let consumerFlagsOffset = 20
    @usableFromInline static let headOffset = 64
    @usableFromInline static let tailOffset = 128
    /// Each side's counters follow its position: futex waits, futex wakes, barriers.
    @usableFromInline static let countersAfterPosition = 8
    @usableFromInline static let consumerSleepingOffset = 192
    @usableFromInline static let producerSleepingOffset = 200
    @usableFromInline static let dataOffset = 256
    @usableFromInline static let recordHeaderByteCount = 8
    @usableFromInline static let wrapMarker = UInt64.max
    /// Bit 63 of a length word: the message starts at the next 64-byte boundary after the word.
    @usableFromInline static let alignedPayloadFlag: UInt64 = 1 << 63
    /// The smallest message the producer aligns: below it, the line the word shares with the
    /// message is worth more than the alignment (64 B: 0.55 instead of 1.2 of the limit ring).
    @usableFromInline static let alignedPayloadMinimum = 128
    /// A side's flag bit: it skips the fence after publishing, so a side about to sleep must
    /// issue `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)` (or poll) to be sure it is woken.
    @usableFromInline static let skipsFenceFlag: UInt32 = 1
    /// The largest capacity: the futex words are the low 32 bits of head and tail, which must
    /// differ whenever the 64-bit positions do while a side sleeps.
    public static let maximumCapacity = 1 << 31

    /// The region bytes a ring of `capacity` data bytes takes.
    public static func byteCount(capacity: Int) -> Int { dataOffset + capacity }

    /// How a side waits by default: spin this many re-reads of the other side's position
    /// (tens of microseconds) before announcing that it sleeps. Long enough that a busy peer's
    /// hiccups (an interrupt, a page of a large copy, the hypervisor) do not put a side to sleep:
    /// fewer spins made `shm compare` count several futex calls per 1,000 messages and lose
    /// throughput to wake-ups. A side that is really idle burns that long once, then sleeps.
    public static let defaultWaitStrategy = SpinThenWait(spins: 32768)

    /// Writes an empty ring's header at `offset`. Do it once, before either side attaches
    /// (for example in `SharedRegions.openInitialized(_:layout:initializer:)`), or let both
    /// sides attach with `Producer(openingOrCreating:capacity:)` and
    /// `Consumer(openingOrCreating:capacity:)`, which do it for whichever comes first.
    ///
    /// - Parameters:
    ///   - region: the region to hold the ring, at least `offset + byteCount(capacity:)` bytes.
    ///   - offset: where the ring starts in the region; its address must be a multiple of 64.
    ///   - capacity: data bytes, a power of two from 64 to `maximumCapacity`.
    public static func initialize(in region: any SharedRegion, at offset: Int = 0, capacity: Int) throws(SharedMemoryError) {
        guard capacity >= 64, capacity.nonzeroBitCount == 1, capacity <= maximumCapacity else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "SPSCRing.initialize", address: region.address.description,
                message: "capacity \(capacity) is not a power of two from 64 to 2^31",
                hint: "choose a power of two such as 65536; messages may be up to capacity / 2 - 8 bytes")
        }
        let base = try RegionSlot.pointer(
            to: UInt8.self, count: byteCount(capacity: capacity), at: offset, in: region, aligned: false,
            writing: true, operation: "SPSCRing.initialize")
        try Shared.checkAlignment(base, offset: offset, region: region, operation: "SPSCRing.initialize")
        try region.storeArray([UInt8](repeating: 0, count: dataOffset), at: offset)
        try region.store(UInt64(capacity), at: offset + capacityOffset)
        // The identifier last: a side that attaches early sees no ring rather than a half-made one.
        try SharedAtomic<UInt64>(in: region, at: offset).withAtomic { $0.store(identifier, ordering: .releasing) }
    }

    /// The system calls and barriers a ring's two sides made, read from its counters in the
    /// region (each side counts its own; a peer could write anything there, so use them to
    /// measure, not to decide).
    public struct Counters: Sendable, Hashable {
        /// `futex(FUTEX_WAIT)` calls: times a side went to sleep.
        public var producerWaits, consumerWaits: UInt64
        /// `futex(FUTEX_WAKE)` calls: times a side found the other asleep.
        public var producerWakes, consumerWakes: UInt64
        /// `membarrier` calls (or fences, where the kernel lacks it): times a side announced sleep.
        public var producerBarriers, consumerBarriers: UInt64

        /// Every `futex` call of both sides.
        public var futexCalls: UInt64 { producerWaits &+ consumerWaits &+ producerWakes &+ consumerWakes }
    }
}
