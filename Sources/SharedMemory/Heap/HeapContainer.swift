/// A container's header: the value of a named object, found again and checked by every
/// operation, so that a handle to a container another process destroyed gets an error instead
/// of writing into freed memory.
struct HeapContainer: Sendable {
    let name: String
    let type: HeapObjectType
    /// The named object's record, and its value: the header.
    let record: Int
    let header: Int

    /// Checks that the heap still lists this container's record under its name, and that its
    /// header starts with `magic` (the caller holds the lock).
    func check(in heap: SharedHeap, magic: UInt64, _ operation: String) throws(SharedMemoryError) {
        let table = try HeapNameTable(root: heap.offset + HeapLayout.Field.names, in: heap, operation)
        let probe = try heap.withName(name, operation) { (key, hash) throws(SharedMemoryError) in
            try table.find(hash: hash, key: key, operation)
        }
        guard case .found(_, let entry) = probe, entry.offset == record, entry.valueOffset == header,
            entry.size == type.size, entry.count == 1
        else {
            throw SharedMemoryError(
                code: .notFound, operation: operation, address: heap.region.address.description,
                message: "the container \"\(name)\" is no longer at offset \(header): it was destroyed",
                hint: "open it again by name")
        }
        let found = try heap.words.load(header, operation)
        guard found == magic else {
            throw .corrupted(
                operation, heap.region.address, field: "the magic number of the container \"\(name)\"", value: found,
                rule: "it is \(magic) for a \(type.name)")
        }
    }

    /// Takes the container's named object out of the heap (the caller holds the lock).
    func remove(from heap: SharedHeap, _ log: inout HeapUndoLog, _ operation: String) throws(SharedMemoryError) {
        var table = try HeapNameTable(root: heap.offset + HeapLayout.Field.names, in: heap, operation)
        try heap.withName(name, operation) { (key, hash) throws(SharedMemoryError) in
            guard case .found(let slot, let entry) = try table.find(hash: hash, key: key, operation), entry.offset == record else {
                throw SharedMemoryError(
                    code: .notFound, operation: operation, address: heap.region.address.description,
                    message: "the container \"\(name)\" was destroyed already", hint: "open it again by name")
            }
            try log.set(header, 0, operation)
            try table.remove(entry, at: slot, &log, operation)
        }
    }
}

extension SharedHeap {
    /// Creates (`create` true), opens (false) or opens or creates (nil) the named object
    /// `name` of fingerprint `type` whose words start as `initial`: a container's header.
    func placeContainer(
        _ name: String, _ type: HeapObjectType, initial: [UInt64], create: Bool?, _ operation: String
    ) throws(SharedMemoryError) -> HeapContainer {
        let bytes = initial.withUnsafeBytes { Array($0) }
        let placed: (offset: Int, count: Int, constructed: Bool, record: Int)
        switch create {
        case true?:
            placed = try place(name, type, count: 1, bytes, existing: .refuse, operation)
        case nil:
            placed = try place(name, type, count: 1, bytes, existing: .findSingle, operation)
        case false?:
            guard let found = try lookUp(name, type, operation) else {
                throw SharedMemoryError(
                    code: .notFound, operation: operation, address: region.address.description,
                    message: "the heap holds no named object \"\(name)\"",
                    hint: "create it first, or open it with openingOrCreating")
            }
            placed = found
        }
        return HeapContainer(name: name, type: type, record: placed.record, header: placed.offset)
    }
}
