import SharedMemory
import Testing

/// `SharedHeap.find`'s lock-free path (`HeapNameReader` on the name's bytes in place and the
/// type name kept once per type): the same answers and errors as the checked lookup, names of
/// every length, and a peer that breaks one field of the name table or a record.
@Suite("Heap find")
struct HeapFindTests {
    static let heapBytes = 1 << 18

    /// A type no other test names, so that its first `find` runs before its default type name
    /// was ever worked out.
    struct Unseen: BitwiseCopyable, Equatable {
        var a: UInt16
        var b: UInt16
    }

    @Test("type mismatches are typed errors on the lock-free path, before and after the type's name is kept")
    func typeMismatches() throws {
        let address = try TestNames.address(.posix, "heapfind")
        defer { cleanUp(address) }
        let heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
        let value = try heap.construct("value", UInt64(7))
        #expect(try heap.find("value", as: UInt64.self) == value)

        // Same size and alignment, another type name.
        let signed = #expect(throws: SharedMemoryError.self) { try heap.find("value", as: Int64.self) }
        #expect(signed?.code == .layoutMismatch && signed?.message.contains("Int64") == true)
        let renamed = #expect(throws: SharedMemoryError.self) { try heap.find("value", as: UInt64.self, typeName: "other") }
        #expect(renamed?.code == .layoutMismatch)
        // Another size: the first find of `Unseen` runs before its name was worked out, the second after.
        for _ in 0..<2 {
            let unseen = #expect(throws: SharedMemoryError.self) { try heap.find("value", as: Unseen.self) }
            #expect(unseen?.code == .layoutMismatch && unseen?.message.contains("Unseen") == true)
        }
        let stored = try heap.construct("unseen", Unseen(a: 1, b: 2))
        for _ in 0..<2 { #expect(try heap.find("unseen", as: Unseen.self) == stored) }

        // A given type name: the fingerprint is size, alignment and that name.
        let counter = try heap.construct("counter", Int32(-3), typeName: "counter")
        #expect(try heap.find("counter", as: Int32.self, typeName: "counter") == counter)
        #expect(try heap.find("counter", as: UInt32.self, typeName: "counter")?.byteOffset == counter.byteOffset)
        #expect((#expect(throws: SharedMemoryError.self) { try heap.find("counter", as: Int32.self) })?.code == .layoutMismatch)

        // An array is no single value; a single value is an array of one.
        _ = try heap.construct("array", array: [1, 2, 3] as [UInt64])
        #expect((#expect(throws: SharedMemoryError.self) { try heap.find("array", as: UInt64.self) })?.code == .layoutMismatch)
        #expect(try heap.findArray("value", of: UInt64.self)?.count == 1)
        #expect(try heap.findArray("array", of: UInt64.self)?.count == 3)

        // Names the table cannot hold are refused, as by construct.
        for bad in ["", String(repeating: "n", count: 1025)] {
            #expect((#expect(throws: SharedMemoryError.self) { try heap.find(bad, as: UInt64.self) })?.code == .invalidArgument)
        }
        #expect(try heap.find("absent", as: UInt64.self) == nil)
    }

    @Test("names of 1 to 40 bytes, ASCII and not, that differ only in their last byte, are each found")
    func nameLengths() throws {
        let address = try TestNames.address(.memfd, "heapfind")
        let heap = try SharedHeap.initialize(in: try SharedRegions.open(address, size: Self.heapBytes, mode: .create))
        var names: [String] = []
        for length in 1...40 {
            let stem = String(repeating: "é", count: (length - 1) / 2) + String(repeating: "x", count: (length - 1) % 2)
            names += [stem + "a", stem + "b"]
        }
        var offsets: [String: RegionOffset<UInt64>] = [:]
        for (index, name) in names.enumerated() { offsets[name] = try heap.construct(name, UInt64(index)) }
        for (index, name) in names.enumerated() {
            let found = try #require(try heap.find(name, as: UInt64.self))
            #expect(found == offsets[name])
            #expect(try found.load(from: heap.region) == UInt64(index))
            #expect(try heap.find(name + "c", as: UInt64.self) == nil)
        }
        // A name built from a substring (its own storage) finds the same object.
        let long = names[60]
        #expect(try heap.find(String(long.dropLast()) + String(long.last!), as: UInt64.self) == offsets[long])
    }

    /// One field a peer breaks: where it is, relative to the heap, the table or a record.
    enum Field: CaseIterable, Sendable {
        case tableRoot, tableCapacity, slot, recordTag, nameLength, alignment, valueOffset
    }

    @Test("a peer that breaks one field of the name table or a record: find is .corrupted, and finds again once repaired",
        arguments: Field.allCases)
    func brokenField(field: Field) throws {
        let address = try TestNames.address(.posix, "heapfind")
        defer { cleanUp(address) }
        let heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
        var offsets: [RegionOffset<UInt64>] = []
        for index in 0..<6 { offsets.append(try heap.construct("n-\(index)", UInt64(index))) }
        let region = heap.region
        let table = Int(try region.load(UInt64.self, at: heap.offset + 56))
        let capacity = Int(try region.load(UInt64.self, at: table + 8))
        // The record of "n-3": its value follows its 64-byte header and names at alignment 8.
        let record = Int(offsets[3].byteOffset) - (64 + 3 + "Swift.UInt64".utf8.count + 7) / 8 * 8
        let slot = try #require((0..<capacity).map { table + 32 + 16 * $0 }.first {
            try region.load(UInt64.self, at: $0) == UInt64(record)
        })
        let (at, bad): (Int, UInt64) =
            switch field {
            case .tableRoot: (heap.offset + 56, UInt64(heap.offset + heap.byteCount + 16))
            case .tableCapacity: (table + 8, 3)
            case .slot: (slot, UInt64(heap.offset + 24))
            case .recordTag: (record, 0)
            case .nameLength: (record + 16, 5000)
            case .alignment: (record + 40, 3)
            case .valueOffset: (record + 56, 1 << 40)
            }
        let original = try region.load(UInt64.self, at: at)
        func write(_ word: UInt64) throws {
            let hex = withUnsafeBytes(of: word.littleEndian) { $0.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
            try ChildProcess.peer("open", "\(address)", "write", "\(at)", hex).expectSuccess()
        }
        try write(bad)
        for _ in 0..<2 {
            let error = #expect(throws: SharedMemoryError.self) { try heap.find("n-3", as: UInt64.self) }
            #expect(error?.code == .corrupted, "\(field): \(String(describing: error))")
        }
        try write(original)
        #expect(try heap.find("n-3", as: UInt64.self) == offsets[3])
        try heap.verify()
    }
}
