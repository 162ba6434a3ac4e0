/// An open-addressing hash table inside the heap, from byte strings to records
/// (`HeapNameEntry`): the heap's named objects, and each `SharedHashMap`. One word elsewhere
/// (`root`) holds the table's offset, 0 before the first insertion.
///
/// | offset | field |
/// |---|---|
/// | 0 | tag: a function of the table's offset and capacity |
/// | 8 | capacity: slots, a power of two of at least 16 |
/// | 16 | live records |
/// | 24 | used slots: live records and tombstones |
/// | 32 | the slots, 16 bytes each: the record's offset (0 empty, 1 a tombstone), the key's hash |
///
/// Probing is linear from `hash % capacity` and never runs past `capacity` slots; the table is
/// rebuilt, twice as large as its live records need, before its used slots pass three quarters.
/// Every value read is checked: the table is an allocated block its slots fit in, each record
/// is one too, and its hash is the slot's.
struct HeapNameTable {
    static let headerBytes = 32
    static let slotBytes = 16
    static let minimumCapacity = 16

    let heap: SharedHeap
    /// The word that holds the table's offset.
    let root: Int
    /// The table's first byte, 0 when there is none yet.
    private(set) var offset = 0
    private(set) var capacity = 0
    private(set) var count = 0
    private(set) var used = 0

    enum Probe {
        case found(slot: Int, entry: HeapNameEntry)
        /// Where the key would go: the first tombstone or the empty slot that ended the probe.
        case absent(slot: Int?)
    }

    static func tag(offset: Int, capacity: Int) -> UInt64 {
        0x4E41_4D45_5441_424C ^ (UInt64(truncatingIfNeeded: offset) &* 0x9E37_79B9_7F4A_7C15)
            ^ (UInt64(truncatingIfNeeded: capacity) &* 0xC2B2_AE3D_27D4_EB4F)
    }

    /// Reads the table `root` points at, checked.
    init(root: Int, in heap: SharedHeap, _ operation: String) throws(SharedMemoryError) {
        self.heap = heap
        self.root = root
        let words = heap.words
        let raw = try words.load(root, operation)
        guard raw != 0 else { return }
        let role = "the pointer to a name table"
        let block = try heap.allocatedBlock(payload: Int(clamping: raw), role: role, operation)
        offset = block.payload
        let room = block.size - HeapLayout.blockHeader
        let capacity = try words.load(offset + 8, operation)
        let most = UInt64(max(0, room - Self.headerBytes) / Self.slotBytes)
        guard capacity >= UInt64(Self.minimumCapacity), capacity <= most, capacity & (capacity - 1) == 0 else {
            throw .corrupted(
                operation, words.region.address, field: "the capacity of the name table at \(offset)", value: capacity,
                rule: "it is a power of two from \(Self.minimumCapacity) to the \(most) slots its block holds")
        }
        self.capacity = Int(capacity)
        let tag = try words.load(offset, operation)
        guard tag == Self.tag(offset: offset, capacity: self.capacity) else {
            throw .corrupted(
                operation, words.region.address, field: "the tag of the name table at \(offset)", value: tag,
                rule: "it follows from the table's offset and capacity; \(role) points at it")
        }
        let count = try words.load(offset + 16, operation)
        let used = try words.load(offset + 24, operation)
        guard count <= used, used < capacity else {
            throw .corrupted(
                operation, words.region.address, field: "the record count of the name table at \(offset)", value: count,
                rule: "it is at most the used slots (\(used)), which are fewer than the \(capacity) slots")
        }
        self.count = Int(count)
        self.used = Int(used)
    }

    private func slot(_ index: Int) -> Int { offset + Self.headerBytes + Self.slotBytes * index }

    /// Looks `key` up.
    func find(hash: UInt64, key: UnsafeRawBufferPointer, _ operation: String) throws(SharedMemoryError) -> Probe {
        guard capacity > 0 else { return .absent(slot: nil) }
        let words = heap.words
        let mask = capacity - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        var tombstone: Int?
        for _ in 0..<capacity {
            let slot = slot(index)
            let record = try words.load(slot, operation)
            if record == 0 { return .absent(slot: tombstone ?? slot) }
            if record == 1 {
                if tombstone == nil { tombstone = slot }
            } else if try words.load(slot + 8, operation) == hash {
                let entry = try self.entry(record, slot, operation)
                if try entry.nameMatches(key, in: words, operation) { return .found(slot: slot, entry: entry) }
            }
            index = (index + 1) & mask
        }
        return .absent(slot: tombstone)
    }

    /// The record a slot names, whose hash must be the slot's.
    private func entry(_ record: UInt64, _ slot: Int, _ operation: String) throws(SharedMemoryError) -> HeapNameEntry {
        let entry = try HeapNameEntry.read(
            at: Int(clamping: record), in: heap, role: "a slot of the name table", operation)
        let hash = try heap.words.load(slot + 8, operation)
        guard entry.hash == hash else {
            throw .corrupted(
                operation, heap.words.region.address, field: "the hash in the slot at \(slot)", value: hash,
                rule: "it is the hash of the record the slot names (\(entry.hash))")
        }
        return entry
    }

    /// Every live record, in slot order.
    func entries(_ operation: String) throws(SharedMemoryError) -> [HeapNameEntry] {
        var all: [HeapNameEntry] = []
        for index in 0..<capacity {
            let record = try heap.words.load(slot(index), operation)
            if record > 1 { all.append(try entry(record, slot(index), operation)) }
        }
        guard all.count == count else {
            throw .corrupted(
                operation, heap.words.region.address, field: "the record count of the name table at \(offset)",
                value: count, rule: "it counts the \(all.count) records its slots name")
        }
        return all
    }

    /// Makes sure one more record fits, rebuilding the table (and committing that) when its
    /// used slots would pass three quarters.
    mutating func makeRoom(_ log: inout HeapUndoLog, _ operation: String) throws(SharedMemoryError) {
        guard capacity == 0 || (used + 1) * 4 > capacity * 3 else { return }
        let live = try entries(operation)
        var newCapacity = Self.minimumCapacity
        while newCapacity < (live.count + 1) * 2 { newCapacity *= 2 }
        let bytes = Self.headerBytes + Self.slotBytes * newCapacity
        guard bytes <= heap.byteCount else {
            throw SharedMemoryError(
                code: .noSpace, operation: operation, address: heap.region.address.description,
                message: "a name table of \(newCapacity) slots does not fit in a heap of \(heap.byteCount) bytes",
                hint: "make a larger heap")
        }
        let words = heap.words
        // A fresh block nothing refers to until the root is set: its contents need no log.
        let table = try heap.allocateHoldingLock(byteCount: bytes, alignment: 16, &log, operation)
        try words.bytes(at: table, count: bytes, operation).initializeMemory(as: UInt8.self, repeating: 0)
        try words.store(UInt64(newCapacity), at: table + 8, operation)
        try words.store(UInt64(live.count), at: table + 16, operation)
        try words.store(UInt64(live.count), at: table + 24, operation)
        for entry in live {
            var index = Int(truncatingIfNeeded: entry.hash) & (newCapacity - 1)
            while try words.load(table + Self.headerBytes + Self.slotBytes * index, operation) != 0 {
                index = (index + 1) & (newCapacity - 1)
            }
            let slot = table + Self.headerBytes + Self.slotBytes * index
            try words.store(UInt64(entry.offset), at: slot, operation)
            try words.store(entry.hash, at: slot + 8, operation)
        }
        try words.store(Self.tag(offset: table, capacity: newCapacity), at: table, operation)
        try log.set(root, UInt64(table), operation)
        if offset != 0 {
            try heap.release(try heap.allocatedBlock(payload: offset, role: "the old name table", operation), &log, operation)
        }
        try log.commit(operation)
        self = try HeapNameTable(root: root, in: heap, operation)
    }

    /// Makes a record for `key`, which the table does not hold, of `count` elements of `type`
    /// whose bytes are `bytes`, and lists it; returns the record's offset and its value's.
    mutating func add(
        key: UnsafeRawBufferPointer, hash: UInt64, type: HeapObjectType, typeName: UnsafeRawBufferPointer, count: Int,
        bytes: [UInt8], _ log: inout HeapUndoLog, _ operation: String
    ) throws(SharedMemoryError) -> (record: Int, value: Int) {
        guard let placement = HeapNameEntry.placement(
            nameCount: key.count, typeNameCount: typeName.count, size: type.size, alignment: type.alignment, count: count),
            placement.total <= heap.byteCount
        else {
            throw SharedMemoryError(
                code: .noSpace, operation: operation, address: heap.region.address.description,
                message: "\(count) elements of \(type) do not fit in a heap of \(heap.byteCount) bytes",
                hint: "store fewer elements, or make a larger heap")
        }
        try makeRoom(&log, operation)
        let record = try heap.allocateHoldingLock(
            byteCount: placement.total, alignment: max(HeapLayout.granule, type.alignment), &log, operation)
        try HeapNameEntry.write(
            at: record, name: key, hash: hash, type: type, typeName: typeName, count: count, value: placement.value,
            in: heap.words, operation)
        let destination = try heap.words.bytes(at: record + placement.value, count: bytes.count, operation)
        bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
        guard case .absent(let slot?) = try find(hash: hash, key: key, operation) else {
            throw .corrupted(
                operation, heap.region.address, field: "the used slots of the name table at \(offset)", value: used,
                rule: "a table is rebuilt before they pass three quarters, so a free slot is found")
        }
        try insert(record, hash: hash, at: slot, &log, operation)
        return (record, record + placement.value)
    }

    /// Puts the record at `entry` into `slot` (from `find`, after `makeRoom`).
    private mutating func insert(_ entry: Int, hash: UInt64, at slot: Int, _ log: inout HeapUndoLog, _ operation: String)
        throws(SharedMemoryError)
    {
        let wasEmpty = try heap.words.load(slot, operation) == 0
        try log.set(slot + 8, hash, operation)
        try log.set(slot, UInt64(entry), operation)
        count += 1
        try log.set(offset + 16, UInt64(count), operation)
        if wasEmpty {
            used += 1
            try log.set(offset + 24, UInt64(used), operation)
        }
    }

    /// Takes the record in `slot` out (a tombstone stays) and deallocates it.
    mutating func remove(_ entry: HeapNameEntry, at slot: Int, _ log: inout HeapUndoLog, _ operation: String)
        throws(SharedMemoryError)
    {
        try log.set(slot, 1, operation)
        count -= 1
        try log.set(offset + 16, UInt64(count), operation)
        try heap.release(try heap.allocatedBlock(payload: entry.offset, role: "a named object", operation), &log, operation)
    }
}
