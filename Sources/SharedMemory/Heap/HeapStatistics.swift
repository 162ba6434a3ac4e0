/// What a `SharedHeap` holds, taken under its lock.
public struct HeapStatistics: Sendable, Hashable, Codable {
    /// The heap's bytes, its header and the block headers included.
    public var byteCount: Int
    /// The bytes of the free blocks, their headers included, and of the blocks processes
    /// cache (`SharedHeap`'s per-attachment caches of small blocks, as their owners count them).
    public var freeByteCount: Int
    /// The largest free block's bytes, its 16-byte header included: an allocation of up to
    /// `largestFreeBlock - 16` bytes (at alignment 16) succeeds.
    public var largestFreeBlock: Int
    /// The free blocks (cached ones not included): many small ones for few free bytes means fragmentation.
    public var freeBlockCount: Int
    /// The allocations not yet deallocated.
    public var allocationCount: Int
    /// Operations rolled back because their process died inside them.
    public var recoveries: Int
    /// The named objects (`construct`), each one of the allocations.
    public var namedObjectCount: Int

    /// The share of free bytes outside the largest free block: 0 when all free space is one block.
    public var fragmentation: Double {
        freeByteCount == 0 ? 0 : Double(freeByteCount - largestFreeBlock) / Double(freeByteCount)
    }
}

/// One allocation of a `SharedHeap`, as `allocations()` lists it.
public struct HeapAllocation: Sendable, Hashable {
    /// Where its bytes start in the region.
    public var offset: RegionOffset<UInt8>
    /// The bytes it can hold: the requested count rounded up to the block.
    public var byteCount: Int
}
