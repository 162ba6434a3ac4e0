/// Where a `SharedHeap` keeps what it knows, from the heap's first byte (64-byte aligned in
/// the region). Every word is a little-endian `UInt64`; links and block offsets are offsets
/// from the start of the region, so every process reads the same values.
///
/// | offset | field |
/// |---|---|
/// | 0 | magic `"SHMHEAP\0"` |
/// | 8 | version |
/// | 16 | heap size in bytes (from the heap's first byte, a multiple of 16) |
/// | 24 | first free block, 0 for none (the free list is in address order) |
/// | 32 | allocations |
/// | 40 | free bytes (whole free blocks, headers included) |
/// | 48 | recoveries: operations rolled back after their process died |
/// | 56 | the name table (`HeapNameTable`), an allocation; 0 before the first named object |
/// | 64 | the `ProcessMutex` |
/// | 128 | the undo log: entries written, then 31 entries of (word offset, old value) |
/// | 640 | the name version: odd while the name table changes (`find` reads without the lock) |
/// | 704 | 8 cache slots of 192 bytes (`HeapCache`): a process's free small blocks |
/// | 2240 | the first block |
///
/// A block starts with its size (header included, a multiple of 16, at least 32) and a tag
/// that is a function of state (free, allocated, or cached by slot N), offset and size, so a
/// header that was overwritten, or an offset that is not a block's, is noticed. A free
/// block's third word links to the next free block; a cached block's to the next one of its
/// slot's list.
enum HeapLayout {
    static let magic: UInt64 = 0x0050_4145_484D_4853  // "SHMHEAP" read little-endian
    static let version: UInt64 = 3

    enum Field {
        static let magic = 0
        static let version = 8
        static let byteCount = 16
        static let freeHead = 24
        static let allocationCount = 32
        static let freeByteCount = 40
        static let recoveries = 48
        static let names = 56
    }

    static let mutex = 64
    static let log = 128
    /// Enough for the longest operation between two commits: a name table or container
    /// storage replaced (allocate 10 words, the link 1, deallocate the old 7).
    static let logCapacity = 31
    static let nameVersion = 640
    static let cacheSlots = 704
    static let cacheSlotCount = 8
    static let cacheSlotBytes = 192
    static let firstBlock = cacheSlots + cacheSlotCount * cacheSlotBytes

    /// Size and tag; a free block's link follows.
    static let blockHeader = 16
    static let granule = 16
    /// Header and link.
    static let minimumBlock = 32
    /// The alignment the heap's offset in the region needs (the mutex's cache line).
    static let alignment = 64

    static let freeState: UInt64 = 0x4652_4545_9E37_79B9
    static let allocatedState: UInt64 = 0x5553_4544_7F4A_7C15
    /// Cached by slot N: this, plus N.
    static let cachedState: UInt64 = 0x4341_4348_4544_0000

    static func tag(free: Bool, block: Int, size: Int) -> UInt64 {
        tag(state: free ? freeState : allocatedState, block: block, size: size)
    }

    /// Distinct constants per state, mixed with where the block is and how large it is.
    @inline(__always)
    static func tag(state: UInt64, block: Int, size: Int) -> UInt64 {
        state ^ (UInt64(truncatingIfNeeded: block) &* 0x9E37_79B9_7F4A_7C15)
            ^ (UInt64(truncatingIfNeeded: size) &* 0xC2B2_AE3D_27D4_EB4F)
    }
}
