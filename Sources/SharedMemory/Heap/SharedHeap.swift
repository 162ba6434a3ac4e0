import SystemPackage

/// An allocator inside a region that many processes share: `allocate` hands out offsets
/// (`RegionOffset`, never pointers), `deallocate` takes them back, from any process that
/// attached the heap.
///
/// ```swift
/// let heap = try SharedHeap.openInitialized(.posix(name: "/app-heap"), byteCount: 1 << 20)
/// let bytes = try heap.allocate(byteCount: 100)
/// try heap.region.write(Array("hello".utf8), at: Int(bytes.byteOffset))
/// try heap.deallocate(bytes)
/// ```
///
/// The blocks form one address-ordered list of sizes; free blocks are also linked in address
/// order, and a freed block is merged with free neighbours. One `ProcessMutex` in the heap
/// serializes changes to them (`futex` underneath); a wait for it ends after `lockTimeout`.
/// Blocks of up to 256 bytes (allocations of up to 240 at alignment 16 or less) come from and
/// go to a cache this attachment keeps in a slot of the heap (`HeapCache`, 8 slots), without
/// that lock; it holds at most a 64th of the heap (32 KiB at most), refilled 8 blocks at a time.
///
/// Crash safety: every word an operation changes is first recorded in an undo log inside the
/// heap. A process killed with SIGKILL at any instant inside `allocate` or `deallocate`
/// leaves the mutex owner-dead; the next caller rolls the operation back (so the heap is as it
/// was before it began) and marks the mutex consistent. A dead process's cached blocks are
/// given back by the next `statistics()`, `allocations()`, `verify()`, attachment that needs a
/// slot, or allocation that finds no room. Blocks the dead process held stay allocated:
/// `allocations()` lists them. A holder the mutex cannot prove dead (one in another
/// pid namespace, see `ProcessMutex`) makes callers get `.timedOut` instead of waiting forever.
///
/// Trust: every size, offset and link read from the heap is checked before use, against
/// bounds taken when attaching; a value the heap never writes is a `.corrupted` error, never
/// a trap or an access outside the heap. A peer with write access can still corrupt the
/// contents of allocations, or take the lock and never give it back.
public struct SharedHeap: @unchecked Sendable {
    // @unchecked: the words target shared memory that only atomic operations touch.
    /// The region the heap lives in; kept mapped while the heap lives.
    public var region: any SharedRegion { words.region }
    /// Where the heap starts in the region.
    public var offset: Int { words.start }
    /// The heap's bytes, from `offset` on.
    public var byteCount: Int { words.end - words.start }

    /// How long an operation waits for the heap's lock before `.timedOut`: the bound on a
    /// holder that is stuck, or that died before the lock could record it.
    public var lockTimeout: Duration = .seconds(10)

    let words: HeapWords
    let mutex: ProcessMutex
    /// This attachment's cache of small free blocks; nil for the heap a cache uses to empty itself.
    let cache: HeapCache?
    /// The same, for the fast paths: `cache` keeps it alive, so using it needs no retain.
    let unretainedCache: Unmanaged<HeapCache>?
    /// `HeapObjectType`'s memo of default type names, taken once here so that `find` reads it
    /// without the check a global's lazy initialization costs on every access.
    let typeNames = HeapObjectType.recentNames

    /// The smallest heap: its header and one block.
    public static let minimumByteCount = HeapLayout.firstBlock + HeapLayout.minimumBlock
    /// The alignment the heap's offset in the region needs.
    public static let alignment = HeapLayout.alignment

    /// Attaches to a heap some process initialized at `offset`.
    ///
    /// - Throws: `.layoutMismatch` if no heap of this version is there; `.corrupted` if its
    ///   recorded size does not fit the region; `.misaligned`, `.outOfBounds`, `.readOnly`.
    public init(in region: any SharedRegion, at offset: Int = 0) throws(SharedMemoryError) {
        let operation = "SharedHeap"
        try Self.checkPlacement(region, offset, operation)
        let header = try HeapWords(region: region, start: offset, end: offset + HeapLayout.mutex)
        let magic = try header.load(offset + HeapLayout.Field.magic, operation)
        let version = try header.load(offset + HeapLayout.Field.version, operation)
        guard magic == HeapLayout.magic, version == HeapLayout.version else {
            throw SharedMemoryError(
                code: .layoutMismatch, operation: operation, address: region.address.description,
                message: magic == HeapLayout.magic
                    ? "the heap at offset \(offset) is version \(version), not \(HeapLayout.version)"
                    : "no heap at offset \(offset): its first word is 0x\(String(magic, radix: 16))",
                hint: "initialize it once with SharedHeap.initialize(in:at:byteCount:) or use "
                    + "SharedHeap.openInitialized, and give every process the same offset")
        }
        let size = try header.load(offset + HeapLayout.Field.byteCount, operation)
        let room = region.byteCount - offset
        guard size >= UInt64(Self.minimumByteCount), size <= UInt64(room), size % UInt64(HeapLayout.granule) == 0 else {
            throw .corrupted(
                operation, region.address, field: "the heap's size", value: size,
                rule: "it is a multiple of 16 from \(Self.minimumByteCount) to the \(room) bytes after its offset")
        }
        let words = try HeapWords(region: region, start: offset, end: offset + Int(size))
        let mutex = try ProcessMutex(in: region, at: offset + HeapLayout.mutex)
        self.init(words: words, mutex: mutex, cache: HeapCache(words: words, mutex: mutex))
    }

    init(words: HeapWords, mutex: ProcessMutex, cache: HeapCache?) {
        (self.words, self.mutex, self.cache) = (words, mutex, cache)
        unretainedCache = cache.map { Unmanaged.passUnretained($0) }
    }

    /// Formats a heap of `byteCount` bytes (all the rest of the region by default, rounded
    /// down to 16) at `offset`: one free block. Do it once, before other processes attach;
    /// `openInitialized` does it exactly once for you.
    ///
    /// - Throws: `.invalidSize` for fewer than `minimumByteCount` bytes or more than the
    ///   region holds; `.misaligned` unless `offset` is a multiple of 64; `.readOnly`.
    @discardableResult
    public static func initialize(in region: any SharedRegion, at offset: Int = 0, byteCount: Int? = nil)
        throws(SharedMemoryError) -> SharedHeap
    {
        let operation = "SharedHeap.initialize"
        try checkPlacement(region, offset, operation)
        let room = region.byteCount - offset
        let requested = byteCount ?? room
        guard requested >= minimumByteCount, requested <= room else {
            throw SharedMemoryError(
                code: .invalidSize, operation: operation, address: region.address.description,
                message: "a heap of \(requested) bytes at offset \(offset) does not fit: it needs "
                    + "\(minimumByteCount) bytes at least, and the region has \(room) after the offset",
                hint: "give byteCount from \(minimumByteCount) to \(room), or open a larger region")
        }
        let size = requested / HeapLayout.granule * HeapLayout.granule
        let words = try HeapWords(region: region, start: offset, end: offset + size)
        try words.store(0, at: offset + HeapLayout.Field.magic, operation)
        try words.store(HeapLayout.version, at: offset + HeapLayout.Field.version, operation)
        try words.store(UInt64(size), at: offset + HeapLayout.Field.byteCount, operation)
        let first = offset + HeapLayout.firstBlock
        try words.store(UInt64(first), at: offset + HeapLayout.Field.freeHead, operation)
        try words.store(0, at: offset + HeapLayout.Field.allocationCount, operation)
        try words.store(UInt64(size - HeapLayout.firstBlock), at: offset + HeapLayout.Field.freeByteCount, operation)
        try words.store(0, at: offset + HeapLayout.Field.recoveries, operation)
        try words.store(0, at: offset + HeapLayout.Field.names, operation)
        try words.store(0, at: offset + HeapLayout.log, operation)
        try words.store(0, at: offset + HeapLayout.nameVersion, operation)
        try words.bytes(at: offset + HeapLayout.cacheSlots, count: HeapLayout.firstBlock - HeapLayout.cacheSlots, operation)
            .initializeMemory(as: UInt8.self, repeating: 0)
        try words.store(UInt64(size - HeapLayout.firstBlock), at: first, operation)
        try words.store(HeapLayout.tag(free: true, block: first, size: size - HeapLayout.firstBlock), at: first + 8, operation)
        try words.store(0, at: first + 16, operation)
        _ = try ProcessMutex.initialize(in: region, at: offset + HeapLayout.mutex)
        // The magic last: a process that attaches early finds no heap rather than half of one.
        try words.store(HeapLayout.magic, at: offset + HeapLayout.Field.magic, operation)
        return try SharedHeap(in: region, at: offset)
    }

    /// Opens or creates the region at `address` holding a heap of `byteCount` bytes, which
    /// exactly one process formats (`SharedRegions.openInitialized`, layout "SharedHeap").
    ///
    /// - Throws: as `SharedRegions.openInitialized`; `.layoutMismatch` if the region holds
    ///   something else or a heap of another size.
    public static func openInitialized(
        _ address: RegionAddress, byteCount: Int, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws -> SharedHeap {
        let layout = try RegionLayout(name: "SharedHeap", version: UInt32(HeapLayout.version), payloadByteCount: byteCount)
        let opened = try SharedRegions.openInitialized(
            address, layout: layout, permissions: permissions, options: options
        ) { initialized in
            try SharedHeap.initialize(in: initialized.region, at: initialized.payloadOffset, byteCount: byteCount)
        }
        return try SharedHeap(in: opened.region, at: opened.payloadOffset)
    }

    private static func checkPlacement(_ region: any SharedRegion, _ offset: Int, _ operation: String)
        throws(SharedMemoryError)
    {
        guard offset >= 0, offset <= region.byteCount - minimumByteCount else {
            throw SharedMemoryError(
                code: .outOfBounds, operation: operation, address: region.address.description,
                message: "a heap at offset \(offset) does not fit in the region's \(region.byteCount) bytes "
                    + "(a heap takes \(minimumByteCount) bytes at least)",
                hint: "give an offset from 0 to \(region.byteCount - minimumByteCount)")
        }
        guard offset % alignment == 0 else {
            throw SharedMemoryError(
                code: .misaligned, operation: operation, address: region.address.description,
                message: "a heap's offset must be a multiple of \(alignment), not \(offset)",
                hint: "place it at a multiple of \(alignment), after your own header")
        }
    }
}
