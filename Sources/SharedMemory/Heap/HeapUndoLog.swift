/// The heap's crash safety: before an operation changes a word of the heap, it records the
/// word's offset and old value in the log and counts the entry; only then does it write the
/// word. Clearing the count commits. A process killed with entries counted leaves its mutex
/// owner-dead; the next locker undoes the entries newest first, which puts back the heap as
/// it was before the operation began, and marks the mutex consistent.
struct HeapUndoLog {
    let words: HeapWords
    private var count = 0

    init(words: HeapWords) {
        self.words = words
    }

    private var countOffset: Int { words.start + HeapLayout.log }
    private func entryOffset(_ index: Int) -> Int { words.start + HeapLayout.log + 16 + 16 * index }

    /// Writes `value` at `offset`, logged first.
    mutating func set(_ offset: Int, _ value: UInt64, _ operation: String) throws(SharedMemoryError) {
        // No operation writes more words than the log holds: a fixed bound of the algorithms.
        precondition(count < HeapLayout.logCapacity, "a heap operation wrote more words than its undo log holds")
        let old = try words.load(offset, operation)
        try words.store(UInt64(offset), at: entryOffset(count), operation)
        try words.store(old, at: entryOffset(count) + 8, operation)
        count += 1
        try words.store(UInt64(count), at: countOffset, operation)
        try words.store(value, at: offset, operation)
    }

    mutating func commit(_ operation: String) throws(SharedMemoryError) {
        try words.store(0, at: countOffset, operation)
        count = 0
    }

    /// The entries a process left behind, checked; none on a heap nobody left half-changed.
    func pendingCount(_ operation: String) throws(SharedMemoryError) -> Int {
        let pending = try words.load(countOffset, operation)
        guard pending <= UInt64(HeapLayout.logCapacity) else {
            throw .corrupted(
                operation, words.region.address, field: "the heap's undo log count", value: pending,
                rule: "it holds at most \(HeapLayout.logCapacity) entries")
        }
        return Int(pending)
    }

    /// Undoes every counted entry, newest first, then clears the log. Returns how many.
    @discardableResult
    func rollBack(_ operation: String) throws(SharedMemoryError) -> Int {
        let pending = try pendingCount(operation)
        for index in stride(from: pending - 1, through: 0, by: -1) {
            let target = try words.load(entryOffset(index), operation)
            // Only the heap's mutable words: header counters and the blocks, never the log or the mutex.
            let offset = Int(truncatingIfNeeded: target)
            let header = words.start + HeapLayout.Field.freeHead..<words.start + HeapLayout.mutex
            guard target <= UInt64(Int.max), words.contains(offset),
                header.contains(offset) || offset >= words.start + HeapLayout.firstBlock
            else {
                throw .corrupted(
                    operation, words.region.address, field: "undo log entry \(index)'s offset", value: target,
                    rule: "it names a header counter or a word of the blocks of the heap")
            }
            try words.store(try words.load(entryOffset(index) + 8, operation), at: offset, operation)
        }
        try words.store(0, at: countOffset, operation)
        return pending
    }
}
