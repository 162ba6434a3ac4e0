import Synchronization

/// `find`'s fast path through the heap's name table: the same probe and the same checks as
/// `HeapNameTable.find` and `HeapNameEntry.read`, on plain offsets (no copies of the heap, so no
/// reference counting), that only answers when every check passes. Anything else (a value that
/// breaks a rule, a type that does not match) is `.unsure`, and the checked lookup runs to say
/// what is wrong. Run between two reads of the name version (`SharedHeap.lookUp`).
struct HeapNameReader {
    enum Answer {
        case found(value: Int, count: Int, record: Int)
        case absent
        case unsure
    }

    let base: UnsafeMutableRawPointer
    /// The heap's first block and end, as region offsets.
    let first: Int
    let end: Int

    @inline(__always)
    private func load(_ offset: Int) -> UInt64 {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self).pointee.load(ordering: .acquiring)
    }

    /// The payload size of the allocated block whose payload is at `raw`, or nil.
    @inline(__always)
    private func allocatedRoom(_ raw: UInt64) -> Int? {
        let payload = Int(truncatingIfNeeded: raw)
        let block = payload &- HeapLayout.blockHeader
        guard raw <= UInt64(end), block >= first, block <= end &- HeapLayout.minimumBlock,
            (block &- first) & (HeapLayout.granule - 1) == 0
        else { return nil }
        let size = load(block)
        guard size >= UInt64(HeapLayout.minimumBlock), size <= UInt64(end &- block), size & 15 == 0,
            load(block + 8) == HeapLayout.tag(free: false, block: block, size: Int(size))
        else { return nil }
        return Int(size) &- HeapLayout.blockHeader
    }

    /// The name version: `SharedHeap.lookUp` reads it before and after a `find`.
    @inline(__always)
    func version(_ heap: Int) -> UInt64 { load(heap + HeapLayout.nameVersion) }

    /// Whether the heap's `bytes.count` bytes at `at` are `bytes`, a word at a time (names are
    /// short: a call to `memcmp` would cost more than the comparison). The caller checked that
    /// they lie inside one block.
    @inline(__always)
    private func equal(_ at: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let theirs = bytes.baseAddress else { return true }
        let here = UnsafeRawPointer(base + at)
        let count = bytes.count
        if count < 8 {
            for index in 0..<count where here.load(fromByteOffset: index, as: UInt8.self) != theirs.load(fromByteOffset: index, as: UInt8.self) {
                return false
            }
            return true
        }
        var index = 0
        while index < count &- 8 {
            guard here.loadUnaligned(fromByteOffset: index, as: UInt64.self) == theirs.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            else { return false }
            index &+= 8
        }
        // The last 8 bytes, overlapping the words before.
        return here.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            == theirs.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
    }

    /// Looks `key` (whose hash is `hash`) up in the table whose offset is at `root`, for an
    /// element of `size` bytes at `alignment` (a power of two) named `typeName`.
    @inline(__always)
    func find(
        root: Int, hash: UInt64, key: UnsafeRawBufferPointer, size: Int, alignment: Int, typeName: UnsafeRawBufferPointer
    ) -> Answer {
        guard alignment > 0, alignment & (alignment &- 1) == 0, typeName.count <= HeapNameEntry.maximumNameBytes else {
            return .unsure
        }
        let rawTable = load(root)
        if rawTable == 0 { return .absent }
        guard let tableRoom = allocatedRoom(rawTable) else { return .unsure }
        let table = Int(rawTable)
        let capacity = load(table + 8)
        guard capacity >= UInt64(HeapNameTable.minimumCapacity), capacity & (capacity &- 1) == 0,
            capacity <= UInt64(max(0, tableRoom - HeapNameTable.headerBytes) / HeapNameTable.slotBytes),
            load(table) == HeapNameTable.tag(offset: table, capacity: Int(capacity))
        else { return .unsure }
        let mask = Int(capacity) &- 1
        var index = Int(truncatingIfNeeded: hash) & mask
        for _ in 0..<Int(capacity) {
            let slot = table + HeapNameTable.headerBytes + HeapNameTable.slotBytes &* index
            let record = load(slot)
            if record == 0 { return .absent }
            if record != 1 && load(slot + 8) == hash {
                guard let room = allocatedRoom(record), room >= HeapNameEntry.headerBytes else { return .unsure }
                let entry = Int(record)
                guard load(entry + HeapNameEntry.Field.hash) == hash,
                    load(entry + HeapNameEntry.Field.tag) == HeapNameEntry.tag(offset: entry, hash: hash)
                else { return .unsure }
                let nameCount = load(entry + HeapNameEntry.Field.nameCount)
                if nameCount == UInt64(key.count), key.count <= room - HeapNameEntry.headerBytes {
                    if equal(entry + HeapNameEntry.headerBytes, key) {
                        return match(entry, room: room, nameCount: key.count, size: size, alignment: alignment, typeName)
                    }
                } else if nameCount == 0 || nameCount > UInt64(min(HeapNameEntry.maximumNameBytes, room - HeapNameEntry.headerBytes)) {
                    return .unsure  // a length no record has: the checked lookup names it
                }
            }
            index = (index &+ 1) & mask
        }
        return .absent
    }

    /// The record at `entry` whose name of `nameCount` bytes matched: found if its fields are
    /// sound and its type is the one asked for, unsure otherwise. The value's placement is
    /// `HeapNameEntry.placement`'s, with masks for divisions (the alignment is a power of two).
    @inline(__always)
    private func match(
        _ entry: Int, room: Int, nameCount: Int, size: Int, alignment: Int, _ typeName: UnsafeRawBufferPointer
    ) -> Answer {
        let count = load(entry + HeapNameEntry.Field.count)
        let value = load(entry + HeapNameEntry.Field.value)
        let mask = alignment &- 1
        let start = (HeapNameEntry.headerBytes &+ nameCount &+ typeName.count &+ mask) & ~mask
        let stride = max(1, (size &+ mask) & ~mask)
        guard load(entry + HeapNameEntry.Field.typeNameCount) == UInt64(typeName.count),
            load(entry + HeapNameEntry.Field.size) == UInt64(size),
            load(entry + HeapNameEntry.Field.alignment) == UInt64(alignment),
            count <= UInt64(room), value == UInt64(start), (entry &+ start) & mask == 0
        else { return .unsure }
        let (bytes, overflow) = stride.multipliedReportingOverflow(by: Int(count))
        guard !overflow, bytes <= room &- start, equal(entry + HeapNameEntry.headerBytes + nameCount, typeName)
        else { return .unsure }
        return .found(value: entry &+ start, count: Int(count), record: entry)
    }
}
