#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import Testing

/// `SharedArray` and `SharedHashMap`: containers in a `SharedHeap`, used from many processes,
/// and against a peer that corrupts them.
@Suite("Heap containers")
struct HeapContainerTests {
    static let heapBytes = 1 << 20

    struct Pair: BitwiseCopyable, Equatable, SharedHashMapKey {
        var first: UInt32
        var second: UInt32
    }

    @Test("SharedArray: append past its capacity, read, set, removeLast, bounds, types, destroy")
    func array() throws {
        let address = try TestNames.address(.memfd, "heapcont")
        let heap = try SharedHeap.initialize(in: try SharedRegions.open(address, size: Self.heapBytes, mode: .create))
        let array = try SharedArray<UInt64>(creating: "numbers", in: heap)
        for value in 0..<1000 { try array.append(UInt64(value * 3)) }
        #expect(try array.count == 1000)
        #expect(try array[999] == 2997)
        try array.set(5, at: 10)
        #expect(try array.elements().prefix(12) == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 5, 33])
        #expect(try array.removeLast() == 2997 && array.count == 999)
        #expect((#expect(throws: SharedMemoryError.self) { try array[999] })?.code == .outOfBounds)
        #expect((#expect(throws: SharedMemoryError.self) { try array.set(1, at: -1) })?.code == .outOfBounds)
        let again = try SharedArray<UInt64>(opening: "numbers", in: heap)
        #expect(try again.count == 999)
        #expect((#expect(throws: SharedMemoryError.self) { try SharedArray<UInt32>(opening: "numbers", in: heap) })?.code == .layoutMismatch)
        #expect((#expect(throws: SharedMemoryError.self) { try SharedArray<UInt64>(creating: "numbers", in: heap) })?.code == .alreadyExists)
        #expect((#expect(throws: SharedMemoryError.self) { try SharedArray<UInt64>(opening: "nothing", in: heap) })?.code == .notFound)
        #expect((#expect(throws: SharedMemoryError.self) { try SharedArray<Bool>(creating: "flags", in: heap) })?.code == .invalidArgument)
        let empty = try SharedArray<Int8>(creating: "reserved", in: heap, capacity: 100)
        #expect(try empty.removeLast() == nil && empty.count == 0)
        try empty.destroy()
        try array.destroy()
        #expect((#expect(throws: SharedMemoryError.self) { try again.append(1) })?.code == .notFound)
        let stats = try heap.verify()
        #expect(stats.allocationCount == 1 && stats.namedObjectCount == 0)
    }

    @Test("SharedHashMap: String, integer, byte-string and struct keys; update, remove, growth, entries, destroy")
    func map() throws {
        let address = try TestNames.address(.memfd, "heapcont")
        let heap = try SharedHeap.initialize(in: try SharedRegions.open(address, size: Self.heapBytes, mode: .create))
        let prices = try SharedHashMap<String, Double>(creating: "prices", in: heap)
        #expect(try prices.updateValue(9.5, forKey: "apple") == nil)
        #expect(try prices.updateValue(2.25, forKey: "apple") == 9.5)
        #expect(try prices.value(forKey: "apple") == 2.25 && prices.value(forKey: "pear") == nil)
        for index in 0..<2000 { try prices.updateValue(Double(index), forKey: "item \(index)") }
        #expect(try prices.count == 2001)
        for index in stride(from: 0, to: 2000, by: 2) { #expect(try prices.removeValue(forKey: "item \(index)") == Double(index)) }
        #expect(try prices.removeValue(forKey: "item 0") == nil)
        let entries = try prices.entries()
        #expect(entries.count == 1001 && Set(entries.map(\.key)).contains("item 1999") && !Set(entries.map(\.key)).contains("item 0"))
        #expect((#expect(throws: SharedMemoryError.self) { try prices.value(forKey: "") })?.code == .invalidArgument)
        #expect(
            (#expect(throws: SharedMemoryError.self) { try SharedHashMap<String, Float>(opening: "prices", in: heap) })?.code
                == .layoutMismatch)

        let counts = try SharedHashMap<Int, UInt32>(openingOrCreating: "counts", in: heap)
        try counts.updateValue(3, forKey: -42)
        #expect(try counts.value(forKey: -42) == 3 && counts.value(forKey: 42) == nil)
        let blobs = try SharedHashMap<[UInt8], Int16>(creating: "blobs", in: heap)
        try blobs.updateValue(-7, forKey: [0, 1, 2])
        #expect(try blobs.value(forKey: [0, 1, 2]) == -7 && blobs.value(forKey: [0, 1]) == nil)
        let pairs = try SharedHashMap<Pair, Pair>(creating: "pairs", in: heap)
        try pairs.updateValue(Pair(first: 3, second: 4), forKey: Pair(first: 1, second: 2))
        #expect(try pairs.entries().map(\.value) == [Pair(first: 3, second: 4)])

        for map in [prices.destroy, counts.destroy, blobs.destroy, pairs.destroy] { try map() }
        let stats = try heap.verify()
        #expect(stats.allocationCount == 1 && stats.namedObjectCount == 0)
    }

    @Test("processes sharing one map and one array, opened or created by whichever comes first", arguments: HeapTests.named)
    func acrossProcesses(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "heapcont")
        defer { cleanUp(address) }
        let heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
        let peers = try (1...3).map { id in
            try ChildProcess.peer("open", "\(address)", "heap-map-put", "\(heap.offset)", "300", "\(id)")
        }
        for peer in peers { try peer.expectSuccess() }
        let map = try SharedHashMap<String, UInt64>(opening: "map", in: heap)
        let array = try SharedArray<UInt64>(opening: "array", in: heap)
        #expect(try map.count == 900)
        var expected: [UInt64] = []
        for id in 1...3 {
            for index in 0..<300 {
                let value = UInt64(id * 1_000_000 + index)
                expected.append(value)
                #expect(try map.value(forKey: "k-\(id)-\(index)") == value)
            }
        }
        #expect(try array.elements().sorted() == expected)
        try map.updateValue(42, forKey: "from the test")
        try ChildProcess.peer("open", "\(address)", "heap-map-expect", "\(heap.offset)", "from the test", "42").expectSuccess()
        #expect(try heap.verify().namedObjectCount == 2)
    }

    @Test("a peer that writes random bytes into the containers: typed errors only", arguments: 0..<30)
    func scribbled(seed: Int) throws {
        let address = try TestNames.address(.posix, "heapcont")
        defer { cleanUp(address) }
        let heap = try SharedHeap.openInitialized(address, byteCount: 1 << 16)
        try ChildProcess.peer("open", "\(address)", "heap-map-put", "\(heap.offset)", "40", "1").expectSuccess()
        try ChildProcess.peer("open", "\(address)", "heap-container-scribble", "\(heap.offset)", "\(seed)").expectSuccess()
        let user = try ChildProcess.peer("open", "\(address)", "heap-container-fuzz", "\(heap.offset)", "10", "\(seed)")
        let outcomes = try user.readLine() ?? ""
        try user.expectSuccess()
        #expect(outcomes.hasPrefix("outcomes "))
        do throws(SharedMemoryError) {
            _ = try SharedHashMap<String, UInt64>(opening: "map", in: heap).entries()
            _ = try SharedArray<UInt64>(opening: "array", in: heap).elements()
        } catch {
            #expect([.corrupted, .layoutMismatch, .notFound, .noSpace, .outOfBounds].contains(error.code))
        }
    }
}
