import Synchronization

// Named objects: values in the heap that any process finds by name, as Boost.Interprocess's
// managed segments have them. Each is one allocation (record, name, type name, value) listed in
// the heap's name table; both change under the heap's lock and undo log, so a process killed
// inside `construct` or `destroy` leaves the name fully there or fully absent.
extension SharedHeap {
    /// Constructs a named `value` in the heap and returns where it is.
    ///
    /// - Parameters:
    ///   - name: 1 to 1,024 bytes of UTF-8, unique in this heap.
    ///   - value: the bytes to store; any process reads them back with `find(_:as:)`.
    ///   - typeName: what `find` must be given to read it back; `String(reflecting: T.self)` by default.
    /// - Throws: `.alreadyExists` when the name is taken; `.noSpace`; `.invalidArgument` for an
    ///   empty or too long name; `.corrupted` when the heap holds a value it never writes.
    public func construct<T: BitwiseCopyable>(_ name: String, _ value: T, typeName: String? = nil)
        throws(SharedMemoryError) -> RegionOffset<T>
    {
        let bytes = withUnsafeBytes(of: value) { Array($0) }
        let placed = try place(name, .of(T.self, name: typeName), count: 1, bytes, existing: .refuse, "SharedHeap.construct")
        return RegionOffset(byteOffset: placed.offset)
    }

    /// Constructs a named array of `values` in the heap and returns where its first element is.
    ///
    /// - Throws: as `construct(_:_:typeName:)`.
    public func construct<T: BitwiseCopyable>(_ name: String, array values: [T], typeName: String? = nil)
        throws(SharedMemoryError) -> RegionOffset<T>
    {
        let bytes = values.withUnsafeBytes { Array($0) }
        let placed = try place(
            name, .of(T.self, name: typeName), count: values.count, bytes, existing: .refuse, "SharedHeap.construct")
        return RegionOffset(byteOffset: placed.offset)
    }

    /// Finds the named value `name` of type `T`, or nil when no object has that name. Reads the
    /// name table without the heap's lock (a sequence lock's reader), and takes the lock only
    /// when names keep changing under it.
    ///
    /// - Throws: `.layoutMismatch` when the object was constructed with another type fingerprint
    ///   (size, alignment or type name) or as an array of other than one element, naming both;
    ///   `.corrupted` when the heap holds a value it never writes.
    public func find<T: BitwiseCopyable>(_ name: String, as type: T.Type, typeName: String? = nil)
        throws(SharedMemoryError) -> RegionOffset<T>?
    {
        guard let found = try lookUp(name, T.self, typeName: typeName, "SharedHeap.find") else { return nil }
        guard found.count == 1 else { throw countMismatch(name, found.count, "SharedHeap.find") }
        return RegionOffset(byteOffset: found.offset)
    }

    /// Finds the named array `name` of `T`: where its first element is and how many there are.
    ///
    /// - Throws: as `find(_:as:typeName:)`.
    public func findArray<T: BitwiseCopyable>(_ name: String, of type: T.Type, typeName: String? = nil)
        throws(SharedMemoryError) -> (offset: RegionOffset<T>, count: Int)?
    {
        guard let found = try lookUp(name, T.self, typeName: typeName, "SharedHeap.findArray") else { return nil }
        return (RegionOffset(byteOffset: found.offset), found.count)
    }

    /// Finds the named value `name`, or constructs it from `value` when there is none: of all
    /// the processes that race to do this, exactly one constructs (the lookup and the
    /// construction hold the heap's lock together).
    ///
    /// - Returns: where the value is, and whether this call constructed it.
    /// - Throws: as `construct` and `find`.
    public func findOrConstruct<T: BitwiseCopyable>(_ name: String, _ value: T, typeName: String? = nil)
        throws(SharedMemoryError) -> (offset: RegionOffset<T>, constructed: Bool)
    {
        let operation = "SharedHeap.findOrConstruct"
        let bytes = withUnsafeBytes(of: value) { Array($0) }
        let placed = try place(name, .of(T.self, name: typeName), count: 1, bytes, existing: .findSingle, operation)
        return (RegionOffset(byteOffset: placed.offset), placed.constructed)
    }

    /// Finds the named array `name`, or constructs it from `values`, exactly once across processes.
    ///
    /// - Returns: where its first element is, its count, and whether this call constructed it.
    /// - Throws: as `construct` and `find`.
    public func findOrConstruct<T: BitwiseCopyable>(_ name: String, array values: [T], typeName: String? = nil)
        throws(SharedMemoryError) -> (offset: RegionOffset<T>, count: Int, constructed: Bool)
    {
        let bytes = values.withUnsafeBytes { Array($0) }
        let placed = try place(
            name, .of(T.self, name: typeName), count: values.count, bytes, existing: .findArray,
            "SharedHeap.findOrConstruct")
        return (RegionOffset(byteOffset: placed.offset), placed.count, placed.constructed)
    }

    /// Destroys the named object `name`: its name and its bytes go back to the heap. Returns
    /// false when there was none. Offsets to it that other processes kept are then dangling.
    ///
    /// - Throws: `.invalidArgument` for an empty or too long name; `.corrupted`.
    @discardableResult
    public func destroy(_ name: String) throws(SharedMemoryError) -> Bool {
        let operation = "SharedHeap.destroy"
        return try withName(name, operation) { (key, hash) throws(SharedMemoryError) in
            try withLockedHeap(operation, changingNames: true) { (log) throws(SharedMemoryError) in
                var table = try HeapNameTable(root: offset + HeapLayout.Field.names, in: self, operation)
                guard case .found(let slot, let entry) = try table.find(hash: hash, key: key, operation) else { return false }
                try table.remove(entry, at: slot, &log, operation)
                return true
            }
        }
    }

    /// Every named object, by name.
    ///
    /// - Throws: `.corrupted` when the name table or a record holds a value the heap never writes.
    public func namedObjects() throws(SharedMemoryError) -> [HeapNamedObject] {
        let operation = "SharedHeap.namedObjects"
        return try withLockedHeap(operation) { (_) throws(SharedMemoryError) in
            let table = try HeapNameTable(root: offset + HeapLayout.Field.names, in: self, operation)
            var all: [HeapNamedObject] = []
            for entry in try table.entries(operation) {
                all.append(
                    HeapNamedObject(
                        name: try entry.name(in: words, operation), offset: RegionOffset(byteOffset: entry.valueOffset),
                        count: entry.count, byteCount: entry.byteCount, type: try entry.type(in: words, operation)))
            }
            return all.sorted { $0.name < $1.name }
        }
    }

    /// What `place` does with a name that exists.
    enum ExistingName {
        case refuse, findSingle, findArray
    }

    /// Constructs (or, unless `existing` is `.refuse`, finds) a named object of `count`
    /// elements whose bytes are `bytes`, holding the lock throughout.
    func place(
        _ name: String, _ type: HeapObjectType, count: Int, _ bytes: [UInt8], existing: ExistingName, _ operation: String
    ) throws(SharedMemoryError) -> (offset: Int, count: Int, constructed: Bool, record: Int) {
        try withName(name, operation) { (key, hash) throws(SharedMemoryError) in
            try withName(type.name, operation, allowEmpty: true) { (typeName, _) throws(SharedMemoryError) in
                guard type.alignment <= HeapNameEntry.maximumAlignment,
                    let placement = HeapNameEntry.placement(
                        nameCount: key.count, typeNameCount: typeName.count, size: type.size,
                        alignment: type.alignment, count: count),
                    placement.total <= byteCount
                else {
                    throw SharedMemoryError(
                        code: .invalidArgument, operation: operation, address: region.address.description,
                        message: "\(count) elements of \(type) do not fit in a heap of \(byteCount) bytes",
                        hint: "store fewer elements, or make a larger heap")
                }
                return try withLockedHeap(operation, changingNames: true) { (log) throws(SharedMemoryError) in
                    var table = try HeapNameTable(root: offset + HeapLayout.Field.names, in: self, operation)
                    if case .found(_, let entry) = try table.find(hash: hash, key: key, operation) {
                        guard existing != .refuse else {
                            throw SharedMemoryError(
                                code: .alreadyExists, operation: operation, address: region.address.description,
                                message: "the heap already holds a named object \"\(name)\"",
                                hint: "use findOrConstruct, or destroy(\"\(name)\") first")
                        }
                        try checkType(entry, name, type, typeName, operation)
                        if existing == .findSingle && entry.count != 1 { throw countMismatch(name, entry.count, operation) }
                        return (entry.valueOffset, entry.count, false, entry.offset)
                    }
                    let added = try table.add(
                        key: key, hash: hash, type: type, typeName: typeName, count: count, bytes: bytes, &log, operation)
                    return (added.value, count, true, added.record)
                }
            }
        }
    }

    /// `find`'s and `findArray`'s lookup: `HeapNameReader` on the name's UTF-8 in place and on
    /// the type name's (`T`'s default one as `HeapObjectType` keeps it once worked out), with
    /// no copy, no allocation and no reference counting; anything it is unsure of (a check that
    /// fails, a type that differs, a bad name, names changing under it) goes to the checked
    /// `lookUp`, which says what is wrong.
    @inline(__always)
    func lookUp<T: BitwiseCopyable>(_ name: String, _ type: T.Type, typeName: String?, _ operation: String)
        throws(SharedMemoryError) -> (offset: Int, count: Int)?
    {
        let answer: HeapNameReader.Answer?
        if let typeName {
            answer = typeName.utf8.withContiguousStorageIfAvailable { utf8 in
                quickLookUp(name, size: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment, UnsafeRawBufferPointer(utf8))
            }
        } else if let utf8 = HeapObjectType.defaultNameUTF8(T.self, in: typeNames) {
            answer = quickLookUp(name, size: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment, utf8)
        } else {
            answer = nil
        }
        switch answer {
        case .found(let value, let count, _)?: return (value, count)
        case .absent?: return nil
        case .unsure?, nil: return try lookUp(name, .of(T.self, name: typeName), operation).map { ($0.offset, $0.count) }
        }
    }

    /// The reader's answer for `name`, between two reads of the name version that agree.
    @inline(__always)
    private func quickLookUp(_ name: String, size: Int, alignment: Int, _ typeName: UnsafeRawBufferPointer)
        -> HeapNameReader.Answer
    {
        name.utf8.withContiguousStorageIfAvailable { utf8 -> HeapNameReader.Answer in
            let key = UnsafeRawBufferPointer(utf8)
            guard key.count > 0, key.count <= HeapNameEntry.maximumNameBytes else { return .unsure }
            let hash = FNV1a.hash64(key)
            let reader = HeapNameReader(base: words.base, first: offset + HeapLayout.firstBlock, end: words.end)
            for _ in 0..<4 {
                let before = reader.version(offset)
                guard before & 1 == 0 else { continue }
                let answer = reader.find(
                    root: offset + HeapLayout.Field.names, hash: hash, key: key, size: size, alignment: alignment,
                    typeName: typeName)
                if case .unsure = answer { return .unsure }
                atomicMemoryFence(ordering: .acquiring)
                if reader.version(offset) == before { return answer }
            }
            return .unsure
        } ?? .unsure
    }

    /// Finds a named object of fingerprint `type`: its value's offset and its element count.
    ///
    /// Without the lock, as a sequence lock's reader: the name version is read before and after
    /// (writers make it odd while they change names, see `withLockedHeap`), and a lookup that saw
    /// it odd or changed is not trusted (its error neither); after 4 such tries, under the lock.
    /// Every value read is checked as under the lock, so a lookup racing a writer reads only
    /// inside the heap and ends. `HeapNames.pml` models the protocol, writers killed included.
    /// `HeapNameReader` answers first; the checked lookup runs when it is unsure.
    func lookUp(_ name: String, _ type: HeapObjectType, _ operation: String) throws(SharedMemoryError)
        -> (offset: Int, count: Int, constructed: Bool, record: Int)?
    {
        try withName(name, operation) { (key, hash) throws(SharedMemoryError) in
            try withName(type.name, operation, allowEmpty: true) { (typeName, _) throws(SharedMemoryError) in
                func lookUp() throws(SharedMemoryError) -> (offset: Int, count: Int, constructed: Bool, record: Int)? {
                    let table = try HeapNameTable(root: offset + HeapLayout.Field.names, in: self, operation)
                    guard case .found(_, let entry) = try table.find(hash: hash, key: key, operation) else { return nil }
                    try checkType(entry, name, type, typeName, operation)
                    return (entry.valueOffset, entry.count, false, entry.offset)
                }
                let version = offset + HeapLayout.nameVersion
                let reader = HeapNameReader(base: words.base, first: offset + HeapLayout.firstBlock, end: words.end)
                for _ in 0..<4 {
                    let before = try words.load(version, operation)
                    guard before & 1 == 0 else { continue }
                    let answer = reader.find(
                        root: offset + HeapLayout.Field.names, hash: hash, key: key, size: type.size,
                        alignment: type.alignment, typeName: typeName)
                    let result: Result<(offset: Int, count: Int, constructed: Bool, record: Int)?, SharedMemoryError>
                    switch answer {
                    case .found(let value, let count, let record): result = .success((value, count, false, record))
                    case .absent: result = .success(nil)
                    case .unsure: result = Result { () throws(SharedMemoryError) in try lookUp() }
                    }
                    atomicMemoryFence(ordering: .acquiring)
                    if try words.load(version, operation) == before { return try result.get() }
                }
                return try withLockedHeap(operation) { (_) throws(SharedMemoryError) in try lookUp() }
            }
        }
    }

    /// Runs `body` with a name's UTF-8 bytes and their hash, after checking its length.
    /// Inlined, so that `find` runs specialized, without copying the heap through its context.
    @inline(__always)
    func withName<R>(
        _ name: String, _ operation: String, allowEmpty: Bool = false,
        _ body: (UnsafeRawBufferPointer, UInt64) throws(SharedMemoryError) -> R
    ) throws(SharedMemoryError) -> R {
        var name = name
        let count = name.utf8.count
        guard count <= HeapNameEntry.maximumNameBytes, allowEmpty || count > 0 else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: operation, address: region.address.description,
                message: "a name of \(count) bytes: names have 1 to \(HeapNameEntry.maximumNameBytes) bytes of UTF-8",
                hint: "give a shorter, non-empty name")
        }
        var result: Result<R, SharedMemoryError>!
        name.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            result = Result { () throws(SharedMemoryError) in try body(raw, FNV1a.hash64(raw)) }
        }
        return try result.get()
    }

    private func checkType(
        _ entry: HeapNameEntry, _ name: String, _ type: HeapObjectType, _ typeName: UnsafeRawBufferPointer,
        _ operation: String
    ) throws(SharedMemoryError) {
        guard try !entry.typeMatches(type, typeName, in: words, operation) else { return }
        throw SharedMemoryError(
            code: .layoutMismatch, operation: operation, address: region.address.description,
            message: "the named object \"\(name)\" is a \(try entry.type(in: words, operation)), not a \(type)",
            hint: "find it with the type (and typeName) it was constructed with")
    }

    private func countMismatch(_ name: String, _ count: Int, _ operation: String) -> SharedMemoryError {
        SharedMemoryError(
            code: .layoutMismatch, operation: operation, address: region.address.description,
            message: "the named object \"\(name)\" is an array of \(count) elements, not a single value",
            hint: "find it with findArray(_:of:)")
    }

    /// The allocated block whose payload starts at `payload` (a value read from the heap, which
    /// `role` describes), or `.corrupted`.
    func allocatedBlock(payload: Int, role: String, _ operation: String) throws(SharedMemoryError) -> HeapBlock {
        let block = try HeapBlock.read(at: payload &- HeapLayout.blockHeader, in: words, role: role, operation)
        guard block.isAllocated else {
            throw .corrupted(
                operation, region.address, field: role, value: payload,
                rule: "it points at an allocation, and the block there is free or cached")
        }
        return block
    }
}
