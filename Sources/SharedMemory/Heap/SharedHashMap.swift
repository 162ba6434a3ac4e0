/// A hash map from `Key` to `Value` that lives entirely in a `SharedHeap`, found by name from
/// any process that attached the heap: its header is a named object ("SharedHashMap<Key,
/// Value>"), its entries records in a hash table of the heap's own design (the one that holds
/// the heap's names: open addressing, 64-bit FNV-1a of the key's bytes, the same in every
/// process).
///
/// ```swift
/// let heap = try SharedHeap.openInitialized(.posix(name: "/app-heap"), byteCount: 1 << 20)
/// let prices = try SharedHashMap<String, Double>(openingOrCreating: "prices", in: heap)
/// try prices.updateValue(9.5, forKey: "apple")
/// print(try prices.value(forKey: "apple") ?? 0)
/// ```
///
/// Every operation holds the heap's lock (`ProcessMutex`, `futex` underneath) and goes through
/// its undo log: a process killed inside `updateValue` or `removeValue` leaves the key with its
/// old entry or its new one, never half an entry. A value replaced in place by a process killed
/// half-way through the copy may hold a mix of old and new bytes.
///
/// Trust: the table, every slot and entry are checked before use (`.corrupted`); a peer can
/// still write any bytes into the values.
public struct SharedHashMap<Key: SharedHashMapKey, Value: BitwiseCopyable>: Sendable {
    /// The heap it lives in.
    public let heap: SharedHeap
    /// Its name among the heap's named objects.
    public let name: String
    let container: HeapContainer

    /// Header words: a magic number and the table's offset (0 before the first entry).
    static var headerType: HeapObjectType {
        HeapObjectType(name: "SharedHashMap<\(Key.keyTypeName), \(HeapObjectType.of(Value.self).name)>", size: 16, alignment: 8)
    }
    static var magic: UInt64 { 0x0050_414D_4853_4D48 }  // "HMSHMAP"
    /// What each entry's record says it holds: one `Value`, no type name.
    private static var entryType: HeapObjectType { HeapObjectType(name: "", size: MemoryLayout<Value>.size, alignment: MemoryLayout<Value>.alignment) }

    /// Creates the map `name` in `heap`, empty.
    ///
    /// - Throws: `.alreadyExists` when the heap has a named object `name`; `.noSpace`;
    ///   `.invalidArgument` for a `Value` with spare bit patterns (`Bool`, enums) or a bad name.
    public init(creating name: String, in heap: SharedHeap) throws(SharedMemoryError) {
        try self.init(name, heap, create: true, "SharedHashMap(creating:)")
    }

    /// Opens the map `name` that some process created in `heap`.
    ///
    /// - Throws: `.notFound`; `.layoutMismatch` when `name` is another kind of object or a map
    ///   of other key or value types; `.corrupted`.
    public init(opening name: String, in heap: SharedHeap) throws(SharedMemoryError) {
        try self.init(name, heap, create: false, "SharedHashMap(opening:)")
    }

    /// Opens the map `name`, or creates it empty when there is none: exactly one of many
    /// processes that race to do this creates it.
    public init(openingOrCreating name: String, in heap: SharedHeap) throws(SharedMemoryError) {
        try self.init(name, heap, create: nil, "SharedHashMap(openingOrCreating:)")
    }

    private init(_ name: String, _ heap: SharedHeap, create: Bool?, _ operation: String) throws(SharedMemoryError) {
        try TypedValue.checkEveryBitPatternIsValid(Value.self, address: heap.region.address, operation: operation)
        self.heap = heap
        self.name = name
        container = try heap.placeContainer(name, Self.headerType, initial: [Self.magic, 0], create: create, operation)
    }

    /// The entries it holds.
    public var count: Int {
        get throws(SharedMemoryError) {
            try locked("SharedHashMap.count") { (table, _) throws(SharedMemoryError) in table.count }
        }
    }

    /// The value for `key`, or nil when it has none.
    ///
    /// - Throws: `.invalidArgument` for a key of no bytes or more than 1,024; `.corrupted`.
    public func value(forKey key: Key) throws(SharedMemoryError) -> Value? {
        let operation = "SharedHashMap.value"
        return try withKey(key, operation) { (bytes, hash) throws(SharedMemoryError) in
            try locked(operation) { (table, _) throws(SharedMemoryError) in
                guard case .found(_, let entry) = try table.find(hash: hash, key: bytes, operation) else { return nil }
                return try load(entry, operation)
            }
        }
    }

    /// Sets the value for `key`; returns the value it replaced, nil when the key is new.
    ///
    /// - Throws: `.noSpace`; `.invalidArgument` for a key of no bytes or more than 1,024; `.corrupted`.
    @discardableResult
    public func updateValue(_ value: Value, forKey key: Key) throws(SharedMemoryError) -> Value? {
        let operation = "SharedHashMap.updateValue"
        return try withKey(key, operation) { (bytes, hash) throws(SharedMemoryError) in
            try locked(operation) { (table, log) throws(SharedMemoryError) in
                var table = table
                let source = withUnsafeBytes(of: value) { Array($0) }
                if case .found(_, let entry) = try table.find(hash: hash, key: bytes, operation) {
                    let old = try load(entry, operation)
                    let destination = try heap.words.bytes(at: entry.valueOffset, count: source.count, operation)
                    source.withUnsafeBytes { destination.copyMemory(from: $0) }
                    return old
                }
                _ = try table.add(
                    key: bytes, hash: hash, type: Self.entryType, typeName: UnsafeRawBufferPointer(start: nil, count: 0),
                    count: 1, bytes: source, &log, operation)
                return nil
            }
        }
    }

    /// Removes `key`'s entry; returns its value, nil when it had none.
    ///
    /// - Throws: `.invalidArgument` for a key of no bytes or more than 1,024; `.corrupted`.
    @discardableResult
    public func removeValue(forKey key: Key) throws(SharedMemoryError) -> Value? {
        let operation = "SharedHashMap.removeValue"
        return try withKey(key, operation) { (bytes, hash) throws(SharedMemoryError) in
            try locked(operation) { (table, log) throws(SharedMemoryError) in
                var table = table
                guard case .found(let slot, let entry) = try table.find(hash: hash, key: bytes, operation) else { return nil }
                let old = try load(entry, operation)
                try table.remove(entry, at: slot, &log, operation)
                return old
            }
        }
    }

    /// Every entry, in the table's order.
    ///
    /// - Throws: `.corrupted`, also for a key whose bytes are no `Key`.
    public func entries() throws(SharedMemoryError) -> [(key: Key, value: Value)] {
        let operation = "SharedHashMap.entries"
        return try locked(operation) { (table, _) throws(SharedMemoryError) in
            var all: [(key: Key, value: Value)] = []
            for entry in try table.entries(operation) {
                let bytes = try heap.words.bytes(at: entry.nameOffset, count: entry.nameCount, operation)
                guard let key = Key(keyBytes: UnsafeRawBufferPointer(bytes)) else {
                    throw .corrupted(
                        operation, heap.region.address, field: "the key length of the entry at \(entry.offset)",
                        value: entry.nameCount, rule: "its bytes are a \(Key.keyTypeName)")
                }
                all.append((key, try load(entry, operation)))
            }
            return all
        }
    }

    /// Destroys the map: its entries, its table and its name go back to the heap. Other
    /// processes' `SharedHashMap` values for it then get `.notFound` or `.corrupted`.
    public func destroy() throws(SharedMemoryError) {
        let operation = "SharedHashMap.destroy"
        try locked(operation, changingNames: true) { (table, log) throws(SharedMemoryError) in
            // Each entry on its own commit: a kill part-way leaves a smaller map.
            var table = table
            for entry in try table.entries(operation) {
                guard case .found(let slot, _) = try table.find(
                    hash: entry.hash, key: UnsafeRawBufferPointer(try heap.words.bytes(at: entry.nameOffset, count: entry.nameCount, operation)),
                    operation)
                else { continue }
                try table.remove(entry, at: slot, &log, operation)
                try log.commit(operation)
            }
            if table.offset != 0 {
                try log.set(container.header + 8, 0, operation)
                try heap.release(try heap.allocatedBlock(payload: table.offset, role: "the map's table", operation), &log, operation)
            }
            try container.remove(from: heap, &log, operation)
        }
    }

    private func locked<R>(
        _ operation: String, changingNames: Bool = false, _ body: (HeapNameTable, inout HeapUndoLog) throws(SharedMemoryError) -> R
    ) throws(SharedMemoryError) -> R {
        try heap.withLockedHeap(operation, changingNames: changingNames) { (log) throws(SharedMemoryError) in
            try container.check(in: heap, magic: Self.magic, operation)
            return try body(try HeapNameTable(root: container.header + 8, in: heap, operation), &log)
        }
    }

    /// The value of an entry, whose record must say it holds one `Value`.
    private func load(_ entry: HeapNameEntry, _ operation: String) throws(SharedMemoryError) -> Value {
        guard entry.size == MemoryLayout<Value>.size, entry.alignment == MemoryLayout<Value>.alignment, entry.count == 1 else {
            throw .corrupted(
                operation, heap.region.address, field: "the value size of the entry at \(entry.offset)", value: entry.size,
                rule: "an entry of this map holds one \(HeapObjectType.of(Value.self))")
        }
        return try heap.words.bytes(at: entry.valueOffset, count: entry.size, operation).loadUnaligned(as: Value.self)
    }

    private func withKey<R>(_ key: Key, _ operation: String, _ body: (UnsafeRawBufferPointer, UInt64) throws(SharedMemoryError) -> R)
        throws(SharedMemoryError) -> R
    {
        try key.withKeyBytes { (bytes) throws(SharedMemoryError) in
            guard (1...HeapNameEntry.maximumNameBytes).contains(bytes.count) else {
                throw SharedMemoryError(
                    code: .invalidArgument, operation: operation, address: heap.region.address.description,
                    message: "a key of \(bytes.count) bytes: keys have 1 to \(HeapNameEntry.maximumNameBytes)",
                    hint: "use a shorter, non-empty key")
            }
            return try body(bytes, FNV1a.hash64(bytes))
        }
    }
}
