extension SharedHeap {
    /// Allocates `byteCount` bytes aligned to `alignment` (a power of two) and returns where
    /// they start in the region. The bytes hold whatever was there before.
    ///
    /// From this attachment's cache for up to 240 bytes at alignment 16 or less; otherwise
    /// first fit along the address-ordered free list, under the heap's `ProcessMutex`.
    ///
    /// - Throws: `.noSpace` when no free block is large enough; `.invalidArgument` for a
    ///   negative count or an alignment that is no power of two; `.corrupted` when the heap
    ///   holds a value it never writes.
    public func allocate(byteCount: Int, alignment: Int = 16) throws(SharedMemoryError) -> RegionOffset<UInt8> {
        // The cache's pop first, in a function small enough to need no frame for the rest.
        if byteCount >= 0, byteCount <= HeapCache.largestBlock - HeapLayout.blockHeader, alignment > 0,
            alignment <= HeapLayout.granule, alignment & (alignment &- 1) == 0,
            let payload = unretainedCache?._withUnsafeGuaranteedRef({ $0.pop(need: Self.need(byteCount)) })
        {
            return RegionOffset(byteOffset: payload)
        }
        return try allocateChecked(byteCount: byteCount, alignment: alignment)
    }

    /// `allocate` when the cache's fast path cannot serve: the arguments checked, then the
    /// cache's checked path (claiming a slot, refilling), else the heap under its lock.
    @inline(never)
    private func allocateChecked(byteCount: Int, alignment: Int) throws(SharedMemoryError) -> RegionOffset<UInt8> {
        let operation = "SharedHeap.allocate"
        guard byteCount >= 0, byteCount <= self.byteCount, alignment > 0, alignment & (alignment - 1) == 0,
            alignment <= self.byteCount
        else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: operation, address: region.address.description,
                message: "cannot allocate \(byteCount) bytes aligned to \(alignment) in a heap of \(self.byteCount) bytes",
                hint: "give a byteCount from 0 to the heap's size and an alignment that is a power of two")
        }
        if alignment <= HeapLayout.granule, let payload = try allocateCached(need: Self.need(byteCount), operation) {
            return RegionOffset(byteOffset: payload)
        }
        return try withLockedHeap(operation) { (log) throws(SharedMemoryError) in
            do throws(SharedMemoryError) {
                return RegionOffset(byteOffset: try allocateHoldingLock(byteCount: byteCount, alignment: alignment, &log, operation))
            } catch where error.code == .noSpace {
                // What caches hold, of dead processes and of this attachment, may make the room.
                try reclaimCaches(own: true, &log, operation)
                return RegionOffset(byteOffset: try allocateHoldingLock(byteCount: byteCount, alignment: alignment, &log, operation))
            }
        }
    }

    /// The block for `byteCount` bytes: header, then the bytes, rounded up to whole granules.
    @inline(__always)
    static func need(_ byteCount: Int) -> Int {
        max(HeapLayout.minimumBlock, (byteCount + HeapLayout.blockHeader + HeapLayout.granule - 1) & ~(HeapLayout.granule - 1))
    }

    /// `allocate`'s work, for a caller that holds the lock and checked the arguments: the payload's offset.
    func allocateHoldingLock(byteCount: Int, alignment: Int, _ log: inout HeapUndoLog, _ operation: String)
        throws(SharedMemoryError) -> Int
    {
        let need = Self.need(byteCount)
        var link = offset + HeapLayout.Field.freeHead
        var current = try freeHead(operation)
        while current != 0 {
            let block = try HeapBlock.read(at: current, in: words, role: "a free-list link", operation)
            guard block.isFree else { throw notFree(block, operation) }
            let next = try block.next(in: words, operation)
            if let payload = fit(need, alignment, in: block) {
                try carve(block, next: next, link: link, payload: payload, need: need, &log, operation)
                return payload
            }
            link = block.linkOffset
            current = next
        }
        let stats = try statisticsHoldingLock(operation)
        throw SharedMemoryError(
            code: .noSpace, operation: operation, address: region.address.description,
            message: "no free block holds \(byteCount) bytes aligned to \(alignment): \(stats.freeByteCount) bytes "
                + "are free, the largest free block has \(stats.largestFreeBlock) (its 16-byte header included)",
            hint: "deallocate what is no longer used, or make a larger heap")
    }

    /// Gives back an allocation, merging it with free neighbours.
    ///
    /// - Throws: `.invalidArgument` for an offset that is no live allocation of this heap
    ///   (outside it, freed already, or its header was overwritten); `.corrupted` when the
    ///   heap holds a value it never writes.
    public func deallocate(_ allocation: RegionOffset<UInt8>) throws(SharedMemoryError) {
        if unretainedCache?._withUnsafeGuaranteedRef({ $0.push(payload: allocation.byteOffset) }) == true { return }
        try deallocateChecked(allocation)
    }

    /// `deallocate` when the cache's fast path cannot take the block: checked, into the cache
    /// or back to the heap under its lock.
    @inline(never)
    private func deallocateChecked(_ allocation: RegionOffset<UInt8>) throws(SharedMemoryError) {
        let operation = "SharedHeap.deallocate"
        // An allocated block's header changes only when it is deallocated: read without the lock.
        let block = try liveBlock(allocation, operation)
        if try deallocateCached(block, operation) { return }
        _ = try withLockedHeap(operation) { (log) throws(SharedMemoryError) in
            try release(try liveBlock(allocation, operation), &log, operation)
        }
    }

    /// The allocated block whose payload is `allocation`, or `.invalidArgument`.
    @inline(__always)
    private func liveBlock(_ allocation: RegionOffset<UInt8>, _ operation: String) throws(SharedMemoryError) -> HeapBlock {
        let blockOffset = Int(truncatingIfNeeded: allocation.byteOffset) &- HeapLayout.blockHeader
        let block: HeapBlock
        do throws(SharedMemoryError) {
            block = try HeapBlock.read(at: blockOffset, in: words, role: "the block before the offset", operation)
        } catch {
            throw notAllocation(allocation, because: error.message, operation)
        }
        guard block.isAllocated else { throw notAllocation(allocation, because: "it was deallocated already", operation) }
        return block
    }

    /// Gives back the allocated (or cached) `block`, merging it with free neighbours; the caller
    /// holds the lock. Returns where the free block it became part of ends.
    @discardableResult
    func release(_ block: HeapBlock, _ log: inout HeapUndoLog, _ operation: String) throws(SharedMemoryError) -> Int {
        // The free neighbours: the last free block before it and the first after it.
        var link = offset + HeapLayout.Field.freeHead
        var previous: HeapBlock?
        var current = try freeHead(operation)
        while current != 0 && current < block.offset {
            let free = try HeapBlock.read(at: current, in: words, role: "a free-list link", operation)
            guard free.isFree else { throw notFree(free, operation) }
            previous = free
            link = free.linkOffset
            current = try free.next(in: words, operation)
        }
        if let previous, previous.end > block.offset { throw overlap(previous, block, operation) }
        var following = current
        var merged = block.size
        var end = block.end
        if current != 0 {
            let after = try HeapBlock.read(at: current, in: words, role: "a free-list link", operation)
            guard after.isFree else { throw notFree(after, operation) }
            if block.end > after.offset { throw overlap(block, after, operation) }
            if block.end == after.offset {
                merged += after.size
                end = after.end
                following = try after.next(in: words, operation)
                try log.set(after.offset + 8, 0, operation)
            }
        }
        if let previous, previous.end == block.offset {
            try log.set(block.offset + 8, 0, operation)
            try HeapBlock.write(at: previous.offset, size: previous.size + merged, free: true, &log, operation)
            try log.set(previous.linkOffset, UInt64(following), operation)
        } else {
            try HeapBlock.write(at: block.offset, size: merged, free: true, &log, operation)
            try log.set(block.linkOffset, UInt64(following), operation)
            try log.set(link, UInt64(block.offset), operation)
        }
        try adjustCounters(freeBytes: block.size, allocations: -1, &log, operation)
        return end
    }

    /// Where an allocation of `need` bytes (header included) aligned to `alignment` starts in
    /// `block`, if it fits: any gap left before it is a free block of its own.
    private func fit(_ need: Int, _ alignment: Int, in block: HeapBlock) -> Int? {
        var payload = (block.payload + alignment - 1) / alignment * alignment
        if payload != block.payload && payload - block.payload < HeapLayout.minimumBlock {
            payload += (HeapLayout.minimumBlock - (payload - block.payload) + alignment - 1) / alignment * alignment
        }
        let start = payload - HeapLayout.blockHeader
        return start - block.offset <= block.size - need ? payload : nil
    }

    /// Splits `block` into an optional free gap, the allocation, and an optional free rest.
    private func carve(
        _ block: HeapBlock, next: Int, link: Int, payload: Int, need: Int, _ log: inout HeapUndoLog,
        _ operation: String
    ) throws(SharedMemoryError) {
        let start = payload - HeapLayout.blockHeader
        let gap = start - block.offset
        var size = need
        var rest = block.size - gap - need
        if rest < HeapLayout.minimumBlock {
            size += rest
            rest = 0
        }
        var following = next
        if rest > 0 {
            let remainder = start + size
            try HeapBlock.write(at: remainder, size: rest, free: true, &log, operation)
            try log.set(remainder + HeapLayout.blockHeader, UInt64(next), operation)
            following = remainder
        }
        if gap > 0 {
            try HeapBlock.write(at: block.offset, size: gap, free: true, &log, operation)
            try log.set(block.linkOffset, UInt64(following), operation)
        } else {
            try log.set(link, UInt64(following), operation)
            // The free block's link is now the allocation's first word: logged, so that a roll-back
            // restores it even after the caller wrote into the new allocation in the same operation.
            try log.set(payload, 0, operation)
        }
        try HeapBlock.write(at: start, size: size, free: false, &log, operation)
        try adjustCounters(freeBytes: -size, allocations: 1, &log, operation)
    }

    private func adjustCounters(freeBytes: Int, allocations: Int, _ log: inout HeapUndoLog, _ operation: String)
        throws(SharedMemoryError)
    {
        let free = offset + HeapLayout.Field.freeByteCount
        let count = offset + HeapLayout.Field.allocationCount
        try log.set(free, try words.load(free, operation) &+ UInt64(bitPattern: Int64(freeBytes)), operation)
        try log.set(count, try words.load(count, operation) &+ UInt64(bitPattern: Int64(allocations)), operation)
    }

    /// Runs `body` holding the heap's mutex: rolls back what a dead holder left half-done
    /// first, commits `body`'s writes after it, and rolls them back if it throws. With
    /// `changingNames`, the name version is odd from before `body` until after the commit or
    /// roll-back, for `find`'s readers without the lock (`HeapNameReader`). Inlined: a call
    /// copies the heap (retaining its region) for the closure's context.
    @inline(__always)
    func withLockedHeap<R>(
        _ operation: String, changingNames: Bool = false, _ body: (inout HeapUndoLog) throws(SharedMemoryError) -> R
    ) throws(SharedMemoryError) -> R {
        var log = HeapUndoLog(words: words)
        guard let acquisition = try mutex.lock(timeout: lockTimeout) else {
            throw SharedMemoryError(
                code: .timedOut, operation: operation, address: region.address.description,
                message: "the heap's lock was not released within \(lockTimeout): its holder is busy, stuck, or "
                    + "in a pid namespace where ProcessMutex cannot tell whether it lives",
                hint: "retry, or give a longer lockTimeout; if no process uses the heap, re-initialize it")
        }
        let version = offset + HeapLayout.nameVersion
        if acquisition == .acquiredPreviousOwnerDied {
            do {
                // The dead holder may have been changing names: odd while they are put back.
                let odd = try words.load(version, operation) | 1
                try words.store(odd, at: version, operation)
                if try log.rollBack(operation) > 0 {
                    let recoveries = offset + HeapLayout.Field.recoveries
                    try words.store(try words.load(recoveries, operation) &+ 1, at: recoveries, operation)
                }
                try words.store(odd &+ 1, at: version, operation)
            } catch {
                // Unrepaired: the mutex becomes unrecoverable, and nobody trusts the heap again.
                try? mutex.unlock()
                throw error
            }
            try mutex.markConsistent()
        } else if try log.pendingCount(operation) != 0 {
            try? mutex.unlock()
            throw .corrupted(
                operation, region.address, field: "the heap's undo log count", value: try log.pendingCount(operation),
                rule: "it is 0 whenever the heap's mutex is free: only a holder that died leaves entries")
        }
        var odd: UInt64 = 0
        do {
            if changingNames {
                odd = try words.load(version, operation) | 1
                try words.store(odd, at: version, operation)
            }
            let result = try body(&log)
            try log.commit(operation)
            if changingNames { try words.store(odd &+ 1, at: version, operation) }
            try mutex.unlock()
            return result
        } catch {
            _ = try? log.rollBack(operation)
            if odd != 0 { try? words.store(odd &+ 1, at: version, operation) }
            try? mutex.unlock()
            throw error
        }
    }

    func freeHead(_ operation: String) throws(SharedMemoryError) -> Int {
        let head = try words.load(offset + HeapLayout.Field.freeHead, operation)
        guard head <= UInt64(words.end) else {
            throw .corrupted(
                operation, region.address, field: "the heap's first free block", value: head,
                rule: "it is 0 or an offset inside the heap (up to \(words.end))")
        }
        return Int(head)
    }

    func notFree(_ block: HeapBlock, _ operation: String) -> SharedMemoryError {
        .corrupted(
            operation, region.address, field: "the free list", value: block.offset,
            rule: "it links only free blocks, and the block there is allocated")
    }

    func overlap(_ first: HeapBlock, _ second: HeapBlock, _ operation: String) -> SharedMemoryError {
        .corrupted(
            operation, region.address, field: "the block at \(first.offset) of \(first.size) bytes, ending at",
            value: first.end, rule: "blocks do not overlap, and the next one starts at \(second.offset)")
    }

    private func notAllocation(_ allocation: RegionOffset<UInt8>, because reason: String, _ operation: String)
        -> SharedMemoryError
    {
        SharedMemoryError(
            code: .invalidArgument, operation: operation, address: region.address.description,
            message: "offset \(allocation.byteOffset) is no live allocation of this heap: \(reason)",
            hint: "deallocate each offset allocate returned exactly once")
    }
}
