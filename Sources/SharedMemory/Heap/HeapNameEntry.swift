/// One named object's record, an allocation of the heap read and checked: a header of eight
/// words, the name's bytes, the type name's bytes, then the value at its alignment, all in one
/// block, so constructing or destroying a named object is one allocation or one deallocation.
///
/// | offset | field |
/// |---|---|
/// | 0 | tag: a function of the record's offset and its name's hash |
/// | 8 | the name's 64-bit FNV-1a hash |
/// | 16 | the name's UTF-8 byte count |
/// | 24 | the type name's UTF-8 byte count |
/// | 32 | the element's size |
/// | 40 | the element's alignment |
/// | 48 | the element count (1 for a single value) |
/// | 56 | the value's offset from the record's start |
/// | 64 | the name, then the type name |
struct HeapNameEntry {
    enum Field {
        static let tag = 0
        static let hash = 8
        static let nameCount = 16
        static let typeNameCount = 24
        static let size = 32
        static let alignment = 40
        static let count = 48
        static let value = 56
    }

    static let headerBytes = 64
    /// The longest name and type name, in UTF-8 bytes.
    static let maximumNameBytes = 1024
    /// The largest alignment a named object may ask for.
    static let maximumAlignment = 4096

    /// The record's first byte: the payload of its block.
    let offset: Int
    let hash: UInt64
    let nameCount: Int
    let typeNameCount: Int
    let size: Int
    let alignment: Int
    let count: Int
    /// Where the value starts, from the start of the region.
    let valueOffset: Int

    var stride: Int { HeapNameEntry.stride(size: size, alignment: alignment) }
    var byteCount: Int { count * stride }
    var nameOffset: Int { offset + HeapNameEntry.headerBytes }
    var typeNameOffset: Int { nameOffset + nameCount }

    static func stride(size: Int, alignment: Int) -> Int {
        max(1, (size + alignment - 1) / alignment * alignment)
    }

    static func tag(offset: Int, hash: UInt64) -> UInt64 {
        0x4E41_4D45_4445_4E54 ^ (UInt64(truncatingIfNeeded: offset) &* 0x9E37_79B9_7F4A_7C15) ^ (hash &* 0xFF51_AFD7_ED55_8CCD)
    }

    /// The value's offset from the record's start and the record's bytes, or nil when they
    /// do not fit in an `Int`.
    static func placement(nameCount: Int, typeNameCount: Int, size: Int, alignment: Int, count: Int)
        -> (value: Int, total: Int)?
    {
        let value = (headerBytes + nameCount + typeNameCount + alignment - 1) / alignment * alignment
        let (bytes, overflow) = stride(size: size, alignment: alignment).multipliedReportingOverflow(by: count)
        let (total, overflow2) = value.addingReportingOverflow(bytes)
        return overflow || overflow2 ? nil : (value, total)
    }

    /// Reads the record at `offset` (where `role` said it is): it must be an allocated block
    /// of the heap whose tag, counts and placement agree and fit inside the block.
    static func read(at offset: Int, in heap: SharedHeap, role: String, _ operation: String)
        throws(SharedMemoryError) -> HeapNameEntry
    {
        let words = heap.words
        let block = try heap.allocatedBlock(payload: offset, role: role, operation)
        let room = block.size - HeapLayout.blockHeader
        // The rules are only built for an error: this runs on every lookup.
        func field(_ name: String, _ at: Int, _ range: ClosedRange<Int>, _ rule: @autoclosure () -> String)
            throws(SharedMemoryError) -> Int
        {
            let raw = try words.load(offset + at, operation)
            guard raw <= UInt64(range.upperBound), Int(raw) >= range.lowerBound else {
                throw .corrupted(operation, words.region.address, field: "the \(name) of the named object at \(offset)",
                    value: raw, rule: rule())
            }
            return Int(raw)
        }
        guard room >= headerBytes else {
            throw .corrupted(
                operation, words.region.address, field: "the size of the named object's block at", value: block.offset,
                rule: "a named object's block holds its \(headerBytes)-byte header at least")
        }
        let hash = try words.load(offset + Field.hash, operation)
        let tag = try words.load(offset + Field.tag, operation)
        guard tag == HeapNameEntry.tag(offset: offset, hash: hash) else {
            throw .corrupted(
                operation, words.region.address, field: "the tag of the named object at \(offset)", value: tag,
                rule: "it follows from the record's offset and its name's hash (\(hash)); \(role) points at it")
        }
        let nameCount = try field("name length", Field.nameCount, 1...maximumNameBytes, "a name has 1 to \(maximumNameBytes) bytes")
        let typeNameCount = try field("type name length", Field.typeNameCount, 0...maximumNameBytes, "a type name has at most \(maximumNameBytes) bytes")
        let size = try field("element size", Field.size, 0...room, "an element fits in its block of \(room) bytes")
        let alignment = try field("alignment", Field.alignment, 1...maximumAlignment, "it is a power of two up to \(maximumAlignment)")
        guard alignment & (alignment - 1) == 0 else {
            throw .corrupted(
                operation, words.region.address, field: "the alignment of the named object at \(offset)", value: alignment,
                rule: "it is a power of two")
        }
        let count = try field("element count", Field.count, 0...room, "the elements fit in the block of \(room) bytes")
        let value = try field("value offset", Field.value, 0...room, "the value starts inside the block")
        guard let placement = placement(nameCount: nameCount, typeNameCount: typeNameCount, size: size, alignment: alignment, count: count),
            placement.value == value, placement.total <= room, (offset + value) % alignment == 0
        else {
            throw .corrupted(
                operation, words.region.address, field: "the value offset of the named object at \(offset)", value: value,
                rule: "the value follows the header and names at its alignment (\(alignment)), and its \(count) elements "
                    + "of \(size) bytes end inside the block of \(room) bytes")
        }
        return HeapNameEntry(
            offset: offset, hash: hash, nameCount: nameCount, typeNameCount: typeNameCount, size: size,
            alignment: alignment, count: count, valueOffset: offset + value)
    }

    /// Writes a new record into a block just allocated (nothing refers to it yet, so nothing
    /// needs logging: a roll-back frees the block).
    static func write(
        at offset: Int, name: UnsafeRawBufferPointer, hash: UInt64, type: HeapObjectType, typeName: UnsafeRawBufferPointer,
        count: Int, value: Int, in words: HeapWords, _ operation: String
    ) throws(SharedMemoryError) {
        try words.store(hash, at: offset + Field.hash, operation)
        try words.store(UInt64(name.count), at: offset + Field.nameCount, operation)
        try words.store(UInt64(typeName.count), at: offset + Field.typeNameCount, operation)
        try words.store(UInt64(type.size), at: offset + Field.size, operation)
        try words.store(UInt64(type.alignment), at: offset + Field.alignment, operation)
        try words.store(UInt64(count), at: offset + Field.count, operation)
        try words.store(UInt64(value), at: offset + Field.value, operation)
        try words.bytes(at: offset + headerBytes, count: name.count, operation).copyMemory(from: name)
        try words.bytes(at: offset + headerBytes + name.count, count: typeName.count, operation).copyMemory(from: typeName)
        try words.store(tag(offset: offset, hash: hash), at: offset + Field.tag, operation)
    }

    func nameMatches(_ name: UnsafeRawBufferPointer, in words: HeapWords, _ operation: String) throws(SharedMemoryError) -> Bool {
        guard name.count == nameCount else { return false }
        return try words.bytesEqual(at: nameOffset, name, operation)
    }

    func typeMatches(_ type: HeapObjectType, _ typeName: UnsafeRawBufferPointer, in words: HeapWords, _ operation: String)
        throws(SharedMemoryError) -> Bool
    {
        guard type.size == size, type.alignment == alignment, typeName.count == typeNameCount else { return false }
        return try words.bytesEqual(at: typeNameOffset, typeName, operation)
    }

    func name(in words: HeapWords, _ operation: String) throws(SharedMemoryError) -> String {
        String(decoding: try words.bytes(at: nameOffset, count: nameCount, operation), as: UTF8.self)
    }

    func type(in words: HeapWords, _ operation: String) throws(SharedMemoryError) -> HeapObjectType {
        HeapObjectType(
            name: String(decoding: try words.bytes(at: typeNameOffset, count: typeNameCount, operation), as: UTF8.self),
            size: size, alignment: alignment)
    }
}
