/// One block of the heap as read from shared memory, every field checked: its offset lies
/// inside the block area on a 16-byte boundary, its size is a multiple of 16 of at least 32
/// that ends inside the heap, and its tag matches its state, offset and size.
struct HeapBlock {
    let offset: Int
    let size: Int
    let isFree: Bool
    /// The cache slot whose list holds the block (`HeapCache`), nil for a free or allocated one.
    let cacheSlot: Int?

    /// Handed out: neither free nor cached.
    var isAllocated: Bool { !isFree && cacheSlot == nil }

    /// The first byte after the header: what `allocate` hands out.
    var payload: Int { offset + HeapLayout.blockHeader }
    var end: Int { offset + size }
    var linkOffset: Int { offset + HeapLayout.blockHeader }

    init(offset: Int, size: Int, isFree: Bool, cacheSlot: Int? = nil) {
        (self.offset, self.size, self.isFree, self.cacheSlot) = (offset, size, isFree, cacheSlot)
    }

    /// Reads the block at `offset`, or throws `.corrupted` naming `role` (where the offset came from).
    static func read(at offset: Int, in words: HeapWords, role: String, _ operation: String)
        throws(SharedMemoryError) -> HeapBlock
    {
        let first = words.start + HeapLayout.firstBlock
        guard offset >= first, offset <= words.end - HeapLayout.minimumBlock, (offset - first) % HeapLayout.granule == 0
        else {
            throw .corrupted(
                operation, words.region.address, field: role, value: offset,
                rule: "blocks start at multiples of \(HeapLayout.granule) from \(first) to "
                    + "\(words.end - HeapLayout.minimumBlock)")
        }
        let raw = try words.load(offset, operation)
        guard raw >= UInt64(HeapLayout.minimumBlock), raw <= UInt64(words.end - offset), raw % UInt64(HeapLayout.granule) == 0
        else {
            throw .corrupted(
                operation, words.region.address, field: "the size of the block at \(offset)", value: raw,
                rule: "a block's size is a multiple of \(HeapLayout.granule), at least \(HeapLayout.minimumBlock), "
                    + "ending inside the heap (at most \(words.end - offset) here)")
        }
        let size = Int(raw)
        let state = try words.load(offset + 8, operation) ^ HeapLayout.tag(state: 0, block: offset, size: size)
        if state == HeapLayout.freeState { return HeapBlock(offset: offset, size: size, isFree: true) }
        if state == HeapLayout.allocatedState { return HeapBlock(offset: offset, size: size, isFree: false) }
        if state &- HeapLayout.cachedState < UInt64(HeapLayout.cacheSlotCount) {
            return HeapBlock(offset: offset, size: size, isFree: false, cacheSlot: Int(state &- HeapLayout.cachedState))
        }
        let tag = try words.load(offset + 8, operation)
        throw .corrupted(
            operation, words.region.address, field: "the tag of the block at \(offset)", value: tag,
            rule: "a block's tag follows from its state, offset and size (\(size))")
    }

    /// The next free block's offset (0 for none), for a free block.
    func next(in words: HeapWords, _ operation: String) throws(SharedMemoryError) -> Int {
        let raw = try words.load(linkOffset, operation)
        guard raw == 0 || raw >= UInt64(end), raw <= UInt64(words.end) else {
            throw .corrupted(
                operation, words.region.address, field: "the free-list link of the block at \(offset)", value: raw,
                rule: "the free list runs in address order: 0, or an offset from \(end) to \(words.end)")
        }
        return Int(raw)
    }

    /// Writes a header (size and tag), logged.
    static func write(
        at offset: Int, size: Int, free: Bool, _ log: inout HeapUndoLog, _ operation: String
    ) throws(SharedMemoryError) {
        try log.set(offset, UInt64(size), operation)
        try log.set(offset + 8, HeapLayout.tag(free: free, block: offset, size: size), operation)
    }
}
