#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import Testing

/// `SharedHeap`'s named objects: construct, find, findOrConstruct, destroy, across processes,
/// under kills and against a peer that corrupts the name table.
@Suite("Heap named objects")
struct HeapNamedObjectTests {
    static let heapBytes = 1 << 18

    struct Point: BitwiseCopyable, Equatable {
        var x: Int32
        var y: Int32
    }

    @Test("construct, find, find with another type, a duplicate, destroy, and the list of names")
    func lifecycle() throws {
        let address = try TestNames.address(.posix, "heapnames")
        defer { cleanUp(address) }
        let heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
        let empty = try heap.verify()
        let point = try heap.construct("origin", Point(x: 3, y: -4))
        #expect(try point.load(from: heap.region) == Point(x: 3, y: -4))
        #expect(try heap.find("origin", as: Point.self) == point)
        #expect(try heap.find("nowhere", as: Point.self) == nil)
        let primes = try heap.construct("primes", array: [2, 3, 5, 7, 11] as [UInt16], typeName: "prime")
        let found = try #require(try heap.findArray("primes", of: UInt16.self, typeName: "prime"))
        #expect(found.offset == primes && found.count == 5)
        #expect(try heap.region.loadArray(of: UInt16.self, at: Int(primes.byteOffset), count: 5) == [2, 3, 5, 7, 11])

        let wrongType = #expect(throws: SharedMemoryError.self) { try heap.find("origin", as: UInt64.self) }
        #expect(wrongType?.code == .layoutMismatch)
        #expect(wrongType?.message.contains("Point") == true && wrongType?.message.contains("UInt64") == true)
        let wrongName = #expect(throws: SharedMemoryError.self) { try heap.findArray("primes", of: UInt16.self) }
        #expect(wrongName?.code == .layoutMismatch)
        let single = #expect(throws: SharedMemoryError.self) { try heap.find("primes", as: UInt16.self, typeName: "prime") }
        #expect(single?.code == .layoutMismatch)
        let duplicate = #expect(throws: SharedMemoryError.self) { try heap.construct("origin", Point(x: 0, y: 0)) }
        #expect(duplicate?.code == .alreadyExists)
        for bad in ["", String(repeating: "n", count: 1025)] {
            #expect((#expect(throws: SharedMemoryError.self) { try heap.construct(bad, 1) })?.code == .invalidArgument)
        }

        let listed = try heap.namedObjects()
        #expect(listed.map(\.name) == ["origin", "primes"])
        #expect(listed[0].offset.byteOffset == point.byteOffset && listed[0].count == 1 && listed[0].byteCount == 8)
        #expect(listed[0].type == .of(Point.self))
        #expect(listed[1].type == HeapObjectType(name: "prime", size: 2, alignment: 2) && listed[1].byteCount == 10)
        #expect(try heap.verify().namedObjectCount == 2)

        #expect(try heap.destroy("origin"))
        #expect(try !heap.destroy("origin"))
        #expect(try heap.find("origin", as: Point.self) == nil)
        #expect(try heap.destroy("primes"))
        // Only the name table is left.
        let after = try heap.verify()
        #expect(after.allocationCount == 1 && after.namedObjectCount == 0)
        #expect(after.freeByteCount < empty.freeByteCount)
    }

    @Test("a thousand names: the table grows, every name is found, and destroying them gives every byte back")
    func manyNames() throws {
        let address = try TestNames.address(.memfd, "heapnames")
        let heap = try SharedHeap.initialize(in: try SharedRegions.open(address, size: Self.heapBytes, mode: .create))
        for index in 0..<1000 { _ = try heap.construct("object-\(index)", UInt64(index)) }
        for index in stride(from: 0, to: 1000, by: 7) {
            let offset = try #require(try heap.find("object-\(index)", as: UInt64.self))
            #expect(try offset.load(from: heap.region) == UInt64(index))
        }
        #expect(try heap.verify().namedObjectCount == 1000)
        for index in 0..<1000 where index % 2 == 0 { #expect(try heap.destroy("object-\(index)")) }
        for index in 0..<1000 {
            #expect((try heap.find("object-\(index)", as: UInt64.self) != nil) == (index % 2 == 1))
        }
        for index in 0..<1000 where index % 2 == 1 { #expect(try heap.destroy("object-\(index)")) }
        let stats = try heap.verify()
        #expect(stats.namedObjectCount == 0 && stats.allocationCount == 1 && stats.freeBlockCount <= 2)
    }

    @Test("processes racing to findOrConstruct the same names: exactly one constructs each", arguments: HeapTests.named)
    func race(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "heapnames")
        defer { cleanUp(address) }
        let heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
        let names = 300
        let racers = try (1...4).map { id in
            try ChildProcess.peer("open", "\(address)", "heap-race", "\(heap.offset)", "\(names)", "\(id)")
        }
        var constructed = 0
        for racer in racers {
            let line = try racer.readLine() ?? ""
            try racer.expectSuccess()
            constructed += Int(line.split(separator: " ").last ?? "") ?? -1000
        }
        #expect(constructed == names)
        let listed = try heap.namedObjects()
        #expect(listed.count == names && Set(listed.map(\.name)).count == names)
        #expect(try heap.verify().allocationCount == names + 1)
        // Constructed by another process; read here with its type, refused with another.
        #expect(try heap.find("race-0", as: UInt64.self).map { try $0.load(from: heap.region) }.map { (1...4).contains($0) } == true)
        #expect((#expect(throws: SharedMemoryError.self) { try heap.find("race-0", as: Int32.self) })?.code == .layoutMismatch)
    }

    @Test("a peer killed at random points of construct and destroy: each name whole or absent, nothing leaked", arguments: HeapTests.named)
    func killedConstructors(backend: SharedRegionBackend) throws {
        var address = try TestNames.address(backend, "heapnames")
        defer { cleanUp(address) }
        var heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
        heap.lockTimeout = .seconds(2)
        var random = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let peer = try ChildProcess.peer(
                "open", "\(address)", "heap-construct-forever", "\(heap.offset)", "\(round)",
                "\(Int.random(in: 0..<300, using: &random))")
            #expect(try peer.readLine() == "ready")
            try peer.kill()
            let result = try peer.finish()
            #expect(result.status == 128 + SIGKILL, "peer failed: \(result.errors)")
            do {
                try heap.verify()
                let listed = try heap.namedObjects()
                #expect(listed.count <= 8)
                for object in listed {
                    let name = try #require(Int(object.name.dropFirst(2)))
                    let bytes = try #require(try heap.findArray(object.name, of: UInt8.self))
                    let values = try heap.region.read(at: Int(bytes.offset.byteOffset), count: bytes.count)
                    #expect(values == (0..<bytes.count).map { UInt8(truncatingIfNeeded: name &* 31 &+ $0) })
                    #expect(try heap.destroy(object.name))
                }
                // Only the name table is left: nothing the killed process half-made leaked.
                #expect(try heap.verify().allocationCount == 1)
            } catch let error as SharedMemoryError where error.code == .timedOut {
                // Killed between taking the mutex and recording itself (see HeapTests.killedPeers).
                cleanUp(address)
                address = try TestNames.address(backend, "heapnames")
                heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
                heap.lockTimeout = .seconds(2)
            }
        }
    }

    @Test("a peer that writes random bytes over the name table or a record: typed errors only", arguments: 0..<30)
    func scribbledNames(seed: Int) throws {
        let address = try TestNames.address(.posix, "heapnames")
        defer { cleanUp(address) }
        let heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
        for index in 0..<6 { _ = try heap.construct("n-\(index)", UInt64(index)) }
        try ChildProcess.peer("open", "\(address)", "heap-scribble-names", "\(heap.offset)", "\(seed)").expectSuccess()
        let user = try ChildProcess.peer("open", "\(address)", "heap-fuzz-names", "\(heap.offset)", "12", "\(seed)")
        let outcomes = try user.readLine() ?? ""
        try user.expectSuccess()
        #expect(outcomes.hasPrefix("outcomes "))
        do throws(SharedMemoryError) {
            _ = try heap.namedObjects()
            try heap.verify()
        } catch {
            #expect([.corrupted, .layoutMismatch, .noSpace].contains(error.code))
        }
    }
}
