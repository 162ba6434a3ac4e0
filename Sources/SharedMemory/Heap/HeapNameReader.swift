#if canImport(Glibc)
import Glibc
#endif
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

    @inline(__always)
    func find(
        root: Int, hash: UInt64, key: UnsafeRawBufferPointer, type: HeapObjectType, typeName: UnsafeRawBufferPointer
    ) -> Answer {
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
                if nameCount == UInt64(key.count), key.count <= room - HeapNameEntry.headerBytes,
                    memcmp(base + entry + HeapNameEntry.headerBytes, key.baseAddress!, key.count) == 0
                {
                    return match(entry, room: room, type, typeName)
                }
            }
            index = (index &+ 1) & mask
        }
        return .absent
    }

    /// The record at `entry` whose name matched: found if its fields are sound and its type
    /// is `type`, unsure otherwise.
    @inline(__always)
    private func match(_ entry: Int, room: Int, _ type: HeapObjectType, _ typeName: UnsafeRawBufferPointer) -> Answer {
        let nameCount = Int(load(entry + HeapNameEntry.Field.nameCount))
        let typeNameCount = load(entry + HeapNameEntry.Field.typeNameCount)
        let size = load(entry + HeapNameEntry.Field.size)
        let alignment = load(entry + HeapNameEntry.Field.alignment)
        let count = load(entry + HeapNameEntry.Field.count)
        let value = load(entry + HeapNameEntry.Field.value)
        guard typeNameCount == UInt64(typeName.count), size == UInt64(type.size), alignment == UInt64(type.alignment),
            count <= UInt64(room), value <= UInt64(room),
            let placement = HeapNameEntry.placement(
                nameCount: nameCount, typeNameCount: typeName.count, size: type.size, alignment: type.alignment,
                count: Int(count)),
            placement.value == Int(value), placement.total <= room, (entry &+ Int(value)) % type.alignment == 0,
            typeName.isEmpty
                || memcmp(base + entry + HeapNameEntry.headerBytes + nameCount, typeName.baseAddress!, typeName.count) == 0
        else { return .unsure }
        return .found(value: entry + Int(value), count: Int(count), record: entry)
    }
}
