extension SharedHeap {
    /// Sizes and counts, read under the heap's lock; the free list is walked and checked. This
    /// attachment's cache and those of dead processes are given back to the heap first; the
    /// blocks live processes cache count as free, as their owners counted them.
    ///
    /// - Throws: `.corrupted` when the heap holds a value it never writes.
    public func statistics() throws(SharedMemoryError) -> HeapStatistics {
        let operation = "SharedHeap.statistics"
        return try withLockedHeap(operation) { (log) throws(SharedMemoryError) in
            try reclaimCaches(own: true, &log, operation)
            return try statisticsHoldingLock(operation)
        }
    }

    /// Every allocation not yet deallocated, in address order: what to give back after a
    /// process that held some died (whose cached blocks are given back first).
    ///
    /// - Throws: `.corrupted` when a block holds a value the heap never writes.
    public func allocations() throws(SharedMemoryError) -> [HeapAllocation] {
        let operation = "SharedHeap.allocations"
        return try withLockedHeap(operation) { (log) throws(SharedMemoryError) in
            try reclaimCaches(own: true, &log, operation)
            return try blocks(operation).filter(\.isAllocated).map {
                HeapAllocation(
                    offset: RegionOffset(byteOffset: $0.payload), byteCount: $0.size - HeapLayout.blockHeader)
            }
        }
    }

    /// Checks the whole heap: every block from first to last (sizes, tags, no two free blocks
    /// side by side, cached ones only by an owned slot), the free list (exactly the free blocks,
    /// in address order), the free bytes and blocks taken from it that the header counts, and
    /// the name table with every record it lists. Gives back caches first, as `statistics()`
    /// does, and returns the statistics it found.
    ///
    /// - Throws: `.corrupted`, naming the first value that breaks a rule.
    @discardableResult
    public func verify() throws(SharedMemoryError) -> HeapStatistics {
        let operation = "SharedHeap.verify"
        return try withLockedHeap(operation) { (log) throws(SharedMemoryError) in
            try reclaimCaches(own: true, &log, operation)
            let all = try blocks(operation)
            var previousFree = false
            for block in all {
                if let slot = block.cacheSlot, try words.load(cacheSlot(slot), operation) == 0 {
                    throw .corrupted(
                        operation, region.address, field: "the tag of the block at \(block.offset)",
                        value: try words.load(block.offset + 8, operation),
                        rule: "it says cache slot \(slot) holds the block, and no process owns that slot")
                }
                if block.isFree && previousFree {
                    throw .corrupted(
                        operation, region.address, field: "the free block at", value: block.offset,
                        rule: "freed blocks merge with free neighbours, and the block before it is free")
                }
                previousFree = block.isFree
            }
            let free = all.filter(\.isFree).map(\.offset)
            let listed = try freeList(operation).map(\.offset)
            guard listed == free else {
                throw .corrupted(
                    operation, region.address, field: "the free list's length", value: listed.count,
                    rule: "it links exactly the \(free.count) free blocks, in address order")
            }
            _ = try HeapNameTable(root: offset + HeapLayout.Field.names, in: self, operation).entries(operation)
            let used = all.count - free.count
            let recorded = try words.load(offset + HeapLayout.Field.allocationCount, operation)
            guard recorded == UInt64(used) else {
                throw .corrupted(
                    operation, region.address, field: "the heap's allocation count", value: recorded,
                    rule: "it counts the \(used) allocated and cached blocks")
            }
            return try statisticsHoldingLock(operation)
        }
    }

    /// The statistics; the caller holds the lock.
    func statisticsHoldingLock(_ operation: String) throws(SharedMemoryError) -> HeapStatistics {
        let list = try freeList(operation)
        let free = list.reduce(0) { $0 + $1.size }
        let recorded = try words.load(offset + HeapLayout.Field.freeByteCount, operation)
        guard recorded == UInt64(free) else {
            throw .corrupted(
                operation, region.address, field: "the heap's free byte count", value: recorded,
                rule: "it is the sum of the free blocks' sizes, \(free)")
        }
        let allocations = try words.load(offset + HeapLayout.Field.allocationCount, operation)
        let most = UInt64(byteCount / HeapLayout.minimumBlock)
        guard allocations <= most else {
            throw .corrupted(
                operation, region.address, field: "the heap's allocation count", value: allocations,
                rule: "a heap of \(byteCount) bytes holds at most \(most) blocks")
        }
        let cached = try cachedTotals(operation)
        return HeapStatistics(
            byteCount: byteCount, freeByteCount: free + cached.bytes, largestFreeBlock: list.map(\.size).max() ?? 0,
            // Owners count while this runs: a moment's difference is no corruption.
            freeBlockCount: list.count, allocationCount: max(0, Int(allocations) - cached.blocks),
            recoveries: Int(truncatingIfNeeded: try words.load(offset + HeapLayout.Field.recoveries, operation)),
            namedObjectCount: try HeapNameTable(root: offset + HeapLayout.Field.names, in: self, operation).count)
    }

    /// The free list, every link checked; it ends because each link points further on.
    func freeList(_ operation: String) throws(SharedMemoryError) -> [HeapBlock] {
        var list: [HeapBlock] = []
        var current = try freeHead(operation)
        while current != 0 {
            let block = try HeapBlock.read(at: current, in: words, role: "a free-list link", operation)
            guard block.isFree else { throw notFree(block, operation) }
            list.append(block)
            current = try block.next(in: words, operation)
        }
        return list
    }

    /// Every block from the first to the end of the heap, each read and checked.
    func blocks(_ operation: String) throws(SharedMemoryError) -> [HeapBlock] {
        var all: [HeapBlock] = []
        var current = offset + HeapLayout.firstBlock
        while current < words.end {
            let block = try HeapBlock.read(at: current, in: words, role: "the block after the previous one", operation)
            all.append(block)
            current = block.end
        }
        return all
    }
}
