import CSharedMemoryShims
import Synchronization

/// One attachment's cache of free small blocks, in a slot of the heap: what makes `allocate`
/// and `deallocate` of up to 240 bytes cheap, and lets processes allocate at once without
/// meeting on the heap's lock.
///
/// A slot (`HeapLayout.cacheSlots`, 192 bytes) holds its owner (a `PortRecord` word: pid and
/// start time), the bytes and blocks it caches, and one list head per block size from 32 to 256
/// bytes (15 sizes). Only one thread touches them: the first of this process to allocate or
/// deallocate through the attachment binds the cache to itself (its thread pointer); other threads
/// use the heap's lock. So a cached allocation takes no lock and no atomic read-modify-write.
/// A thread pointer is reused only after its thread ended, so no two live threads share one.
///
/// Crash safety rests on the tags: a cached block's tag names its slot, and each step of a
/// push or a pop is one store (link, tag, head), so a process killed at any instant leaves
/// every block it cached tagged with its slot, whether or not a list still reaches it. Whoever
/// next needs a slot, the statistics, the list of allocations or room (`noSpace`) finds the
/// owner dead and frees every block tagged with that slot, under the heap's lock and undo log.
/// A block a pop had just untagged was being handed out: the dead process held it.
///
/// Trust: a head or link is used only as a block whose size and tag say it is this slot's, of
/// the list's size; anything else is `.corrupted`.
final class HeapCache: @unchecked Sendable {
    // @unchecked: `slot`, `unavailable` and the counts are only touched by the bound thread
    // (`thread`), or by `deinit`, when no other reference is left.
    /// The largest cached block, its header included.
    static let largestBlock = 256
    static let sizeCount = (largestBlock - HeapLayout.minimumBlock) / HeapLayout.granule + 1

    enum Field {
        static let owner = 0
        static let cachedBytes = 8
        static let cachedBlocks = 16
        static let heads = 24
    }

    /// The thread that uses the cache (its thread pointer), 0 before one did.
    let thread = Atomic<UInt>(0)
    /// The slot this attachment owns, once it claimed one, and its first byte.
    var slot: Int?
    var slotBase: Int?
    /// Every slot was owned by a live process when this attachment tried.
    var unavailable = false
    var cachedBytes = 0
    var cachedBlocks = 0
    /// The most bytes one attachment keeps: a 64th of the heap, at most 32 KiB.
    let limit: Int
    /// What `deinit` needs to give the blocks back.
    private let words: HeapWords
    private let mutex: ProcessMutex

    /// This process, as slot owners are recorded.
    static let me = PortRecord(ProcessIdentity.current).word

    /// Whether the calling thread is the one bound to the cache (binding it if none is).
    @inline(__always)
    var isMine: Bool {
        let me = CSharedMemoryShims_thread_pointer()
        let bound = thread.load(ordering: .relaxed)
        if bound == me { return true }
        return bound == 0 && thread.compareExchange(expected: 0, desired: me, ordering: .acquiring).exchanged
    }

    /// The heap's first block and end, as region offsets.
    private let firstBlock: Int
    private let end: Int

    init(words: HeapWords, mutex: ProcessMutex) {
        self.words = words
        self.mutex = mutex
        limit = min(32 << 10, (words.end - words.start) / 64)
        firstBlock = words.start + HeapLayout.firstBlock
        end = words.end
    }

    @inline(__always)
    private func word(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (words.base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// A cached allocation's fast path: the payload of a block of `need` bytes off this slot's
    /// list, or nil for the checked path (another thread, no slot yet, an empty list, or a head
    /// that fails a check, which the checked path then reports). Every offset it follows is
    /// checked against the heap's bounds first; no reference counting, no lock.
    @inline(__always)
    func pop(need: Int) -> Int? {
        guard need <= Self.largestBlock, isMine, let slot, let slotBase else { return nil }
        let head = slotBase + Field.heads + 8 &* ((need &- HeapLayout.minimumBlock) >> 4)
        let raw = word(head).pointee.load(ordering: .acquiring)
        let block = Int(truncatingIfNeeded: raw)
        guard raw != 0, raw <= UInt64(end &- need), block >= firstBlock, (block &- firstBlock) & 15 == 0,
            word(block).pointee.load(ordering: .acquiring) == UInt64(need),
            word(block + 8).pointee.load(ordering: .acquiring) == Self.tag(block, need, slot)
        else { return nil }
        word(head).pointee.store(word(block + HeapLayout.blockHeader).pointee.load(ordering: .acquiring), ordering: .releasing)
        word(block + 8).pointee.store(HeapLayout.tag(free: false, block: block, size: need), ordering: .releasing)
        count(-need, -1, slotBase)
        return block + HeapLayout.blockHeader
    }

    /// A cached deallocation's fast path: whether the allocated block whose payload is at
    /// `payload` went onto this slot's list; false for the checked path.
    @inline(__always)
    func push(payload: Int64) -> Bool {
        guard isMine, let slot, let slotBase else { return false }
        let block = Int(truncatingIfNeeded: payload) &- HeapLayout.blockHeader
        guard block >= firstBlock, block <= end &- HeapLayout.minimumBlock, (block &- firstBlock) & 15 == 0 else {
            return false
        }
        let raw = word(block).pointee.load(ordering: .acquiring)
        let size = Int(truncatingIfNeeded: raw)
        guard raw >= UInt64(HeapLayout.minimumBlock), raw <= UInt64(Self.largestBlock), size & 15 == 0,
            size <= end &- block, cachedBytes &+ size <= limit,
            word(block + 8).pointee.load(ordering: .acquiring) == HeapLayout.tag(free: false, block: block, size: size)
        else { return false }
        let head = slotBase + Field.heads + 8 &* ((size &- HeapLayout.minimumBlock) >> 4)
        // Link, tag, head: killed between any two, the tag still says whose the block is.
        word(block + HeapLayout.blockHeader).pointee.store(word(head).pointee.load(ordering: .acquiring), ordering: .releasing)
        word(block + 8).pointee.store(Self.tag(block, size, slot), ordering: .releasing)
        word(head).pointee.store(UInt64(block), ordering: .releasing)
        count(size, 1, slotBase)
        return true
    }

    /// The tag of a block of `size` bytes at `block` that slot `slot` caches.
    @inline(__always)
    static func tag(_ block: Int, _ size: Int, _ slot: Int) -> UInt64 {
        HeapLayout.tag(state: HeapLayout.cachedState &+ UInt64(slot), block: block, size: size)
    }

    /// Counts `bytes` and `blocks` more cached, here and in the slot (where statistics read them).
    @inline(__always)
    func count(_ bytes: Int, _ blocks: Int, _ slotBase: Int) {
        cachedBytes &+= bytes
        cachedBlocks &+= blocks
        word(slotBase + Field.cachedBytes).pointee.store(UInt64(truncatingIfNeeded: cachedBytes), ordering: .releasing)
        word(slotBase + Field.cachedBlocks).pointee.store(UInt64(truncatingIfNeeded: cachedBlocks), ordering: .releasing)
    }

    deinit {
        // Gives the blocks back and the slot up; if the heap's lock cannot be had, the slot
        // stays this process's until it exits, and is reclaimed then.
        guard let slot else { return }
        var heap = SharedHeap(words: words, mutex: mutex, cache: nil)
        heap.lockTimeout = .seconds(1)
        let bound = heap
        _ = try? bound.withLockedHeap("SharedHeap.deinit") { (log) throws(SharedMemoryError) in
            try bound.emptyCache(slot, &log, "SharedHeap.deinit")
            try bound.words.store(0, at: bound.cacheSlot(slot) + Field.owner, "SharedHeap.deinit")
        }
    }
}

extension SharedHeap {
    /// The first byte of cache slot `slot`.
    @inline(__always)
    func cacheSlot(_ slot: Int) -> Int {
        offset + HeapLayout.cacheSlots + slot * HeapLayout.cacheSlotBytes
    }

    /// A block of `need` bytes from this attachment's cache (refilled from the heap when
    /// empty), checked: its payload, or nil when the cache cannot serve (another thread's, no
    /// slot, a large block). `HeapCache.pop` is the fast path in front of it.
    @inline(__always)
    func allocateCached(need: Int, _ operation: String) throws(SharedMemoryError) -> Int? {
        guard need <= HeapCache.largestBlock, let cache, cache.isMine, let slot = try ownSlot(cache, operation) else {
            return nil
        }
        let head = cacheSlot(slot) + HeapCache.Field.heads + 8 * ((need - HeapLayout.minimumBlock) / HeapLayout.granule)
        let first = try words.load(head, operation)
        guard first != 0 else { return try refill(need: need, slot: slot, head: head, cache, operation) }
        let block = try cachedBlock(first, slot: slot, size: need, operation)
        try words.store(try words.load(block + HeapLayout.blockHeader, operation), at: head, operation)
        try words.store(HeapLayout.tag(free: false, block: block, size: need), at: block + 8, operation)
        cache.count(-need, -1, cacheSlot(slot))
        return block + HeapLayout.blockHeader
    }

    /// Takes the allocated `block` into this attachment's cache, checked; false when the cache
    /// cannot (another thread's, no slot, full, a large block). `HeapCache.push` is the fast path.
    @inline(__always)
    func deallocateCached(_ block: HeapBlock, _ operation: String) throws(SharedMemoryError) -> Bool {
        guard block.size <= HeapCache.largestBlock, let cache, cache.isMine,
            cache.cachedBytes + block.size <= cache.limit, let slot = try ownSlot(cache, operation)
        else { return false }
        let head = cacheSlot(slot) + HeapCache.Field.heads + 8 * ((block.size - HeapLayout.minimumBlock) / HeapLayout.granule)
        // Link, tag, head: killed between any two, the tag still says whose the block is.
        try words.store(try words.load(head, operation), at: block.linkOffset, operation)
        try words.store(HeapCache.tag(block.offset, block.size, slot), at: block.offset + 8, operation)
        try words.store(UInt64(block.offset), at: head, operation)
        cache.count(block.size, 1, cacheSlot(slot))
        return true
    }


    /// The block a list of slot `slot` names, which must be cached there at `size`.
    @inline(__always)
    private func cachedBlock(_ raw: UInt64, slot: Int, size: Int, _ operation: String) throws(SharedMemoryError) -> Int {
        let first = offset + HeapLayout.firstBlock
        let block = Int(truncatingIfNeeded: raw)
        guard raw <= UInt64(words.end - size), block >= first, (block - first) % HeapLayout.granule == 0,
            try words.load(block, operation) == UInt64(size),
            try words.load(block + 8, operation) == HeapCache.tag(block, size, slot)
        else {
            throw .corrupted(
                operation, region.address, field: "a link of cache slot \(slot)'s list of \(size)-byte blocks",
                value: raw, rule: "it is 0 or a block of \(size) bytes whose tag says that slot caches it")
        }
        return block
    }

    /// The slot this attachment owns, claimed on first use under the heap's lock; the caller is
    /// the cache's thread.
    @inline(__always)
    private func ownSlot(_ cache: HeapCache, _ operation: String) throws(SharedMemoryError) -> Int? {
        if let slot = cache.slot { return slot }
        if cache.unavailable { return nil }
        let claimed = try withLockedHeap(operation) { (log) throws(SharedMemoryError) in try claimSlot(&log, operation) }
        cache.slot = claimed
        cache.slotBase = claimed.map(cacheSlot)
        cache.unavailable = claimed == nil
        return claimed
    }

    /// A free slot, or one whose owner died (its blocks given back first); nil when every
    /// owner lives. The caller holds the heap's lock.
    private func claimSlot(_ log: inout HeapUndoLog, _ operation: String) throws(SharedMemoryError) -> Int? {
        for slot in 0..<HeapLayout.cacheSlotCount {
            let owner = cacheSlot(slot) + HeapCache.Field.owner
            if try words.load(owner, operation) != 0 {
                guard try reclaimIfDead(slot, &log, operation) else { continue }
            }
            try emptyCache(slot, &log, operation)
            try words.store(HeapCache.me, at: owner, operation)
            return slot
        }
        return nil
    }

    /// Gives back the blocks of slots whose owner died, and frees those slots; the caller
    /// holds the heap's lock. With `own`, this attachment's cache too, when the calling thread
    /// is the cache's.
    func reclaimCaches(own: Bool, _ log: inout HeapUndoLog, _ operation: String) throws(SharedMemoryError) {
        for slot in 0..<HeapLayout.cacheSlotCount where try words.load(cacheSlot(slot), operation) != 0 {
            try reclaimIfDead(slot, &log, operation)
        }
        guard own, let cache, cache.isMine, let slot = cache.slot else { return }
        try emptyCache(slot, &log, operation)
        (cache.cachedBytes, cache.cachedBlocks) = (0, 0)
    }

    /// Frees `slot` if its owner is dead, after giving its blocks back; whether it did.
    @discardableResult
    private func reclaimIfDead(_ slot: Int, _ log: inout HeapUndoLog, _ operation: String) throws(SharedMemoryError) -> Bool {
        let owner = cacheSlot(slot) + HeapCache.Field.owner
        let word = try words.load(owner, operation)
        guard let record = try PortRecord(
            word: word, address: region.address, field: "the owner of the heap's cache slot \(slot)", operation: operation)
        else { return true }
        guard !record.isAlive else { return false }
        try emptyCache(slot, &log, operation)
        try words.store(0, at: owner, operation)
        return true
    }

    /// Gives every block tagged as cached by `slot` back to the heap (each release committed on
    /// its own), then clears the slot's lists and counts. Found by walking the blocks, not the
    /// lists: a block a killed process had tagged but not yet listed is found too.
    func emptyCache(_ slot: Int, _ log: inout HeapUndoLog, _ operation: String) throws(SharedMemoryError) {
        var current = offset + HeapLayout.firstBlock
        while current < words.end {
            let block = try HeapBlock.read(at: current, in: words, role: "the block after the previous one", operation)
            current = block.end
            if block.cacheSlot == slot {
                current = try release(block, &log, operation)
                try log.commit(operation)
            }
        }
        let base = cacheSlot(slot)
        for field in stride(from: HeapCache.Field.cachedBytes, to: HeapLayout.cacheSlotBytes, by: 8) {
            try words.store(0, at: base + field, operation)
        }
    }

    /// Takes up to 8 blocks of `need` bytes from the heap at once: hands out the first, caches
    /// the rest. nil when there is no room for 2 (in the cache or the heap).
    private func refill(need: Int, slot: Int, head: Int, _ cache: HeapCache, _ operation: String)
        throws(SharedMemoryError) -> Int?
    {
        let count = min(8, (cache.limit - cache.cachedBytes) / need + 1)
        guard count >= 2 else { return nil }
        let chunk: Int
        do throws(SharedMemoryError) {
            chunk = try withLockedHeap(operation) { (log) throws(SharedMemoryError) in
                let chunk = try allocateHoldingLock(
                    byteCount: count * need - HeapLayout.blockHeader, alignment: HeapLayout.granule, &log, operation)
                    - HeapLayout.blockHeader
                // The chunk is this operation's own allocation: the headers inside it need no log,
                // a roll-back puts back the free block it came from. The first block takes any rest.
                let firstSize = Int(try words.load(chunk, operation)) - (count - 1) * need
                try words.store(UInt64(firstSize), at: chunk, operation)
                try words.store(HeapLayout.tag(free: false, block: chunk, size: firstSize), at: chunk + 8, operation)
                var block = chunk + firstSize
                for index in 1..<count {
                    try words.store(UInt64(need), at: block, operation)
                    try words.store(HeapCache.tag(block, need, slot), at: block + 8, operation)
                    try words.store(index == count - 1 ? 0 : UInt64(block + need), at: block + HeapLayout.blockHeader, operation)
                    block += need
                }
                let allocations = offset + HeapLayout.Field.allocationCount
                try log.set(allocations, try words.load(allocations, operation) &+ UInt64(count - 1), operation)
                return chunk
            }
        } catch where error.code == .noSpace {
            return nil
        }
        let firstSize = Int(try words.load(chunk, operation))
        try words.store(UInt64(chunk + firstSize), at: head, operation)
        cache.count((count - 1) * need, count - 1, cacheSlot(slot))
        return chunk + HeapLayout.blockHeader
    }

    /// The bytes and blocks every slot caches, as their owners last counted them.
    func cachedTotals(_ operation: String) throws(SharedMemoryError) -> (bytes: Int, blocks: Int) {
        var (bytes, blocks) = (0, 0)
        for slot in 0..<HeapLayout.cacheSlotCount {
            let base = cacheSlot(slot)
            let slotBytes = try words.load(base + HeapCache.Field.cachedBytes, operation)
            let slotBlocks = try words.load(base + HeapCache.Field.cachedBlocks, operation)
            guard slotBytes <= UInt64(byteCount), slotBlocks <= slotBytes / UInt64(HeapLayout.minimumBlock) else {
                throw .corrupted(
                    operation, region.address, field: "the bytes cache slot \(slot) counts", value: slotBytes,
                    rule: "at most the heap's \(byteCount) bytes, in blocks of 32 bytes at least (\(slotBlocks) blocks)")
            }
            bytes += Int(slotBytes)
            blocks += Int(slotBlocks)
        }
        return (bytes, blocks)
    }
}
