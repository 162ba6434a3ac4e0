import Foundation
import SharedMemory
import Testing

/// `shm heap`, run as a user would run it, on a heap this process filled.
@Suite("shm heap command line")
struct HeapCommandLineTests {
    static func shm(_ arguments: String...) throws -> (status: Int32, output: String, errors: String) {
        let result = try ChildProcess("shm", arguments).finish()
        return (result.status, String(decoding: result.output, as: UTF8.self), result.errors)
    }

    @Test("heap stat and heap names, as a table and as JSON", arguments: HeapTests.named)
    func statAndNames(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "cliheap")
        defer { cleanUp(address) }
        let heap = try SharedHeap.openInitialized(address, byteCount: 1 << 16)
        let point = try heap.construct("origin", SIMD2<Int32>(1, 2), typeName: "Point")
        _ = try heap.construct("log", array: [UInt8](repeating: 7, count: 100))
        _ = try heap.allocate(byteCount: 500)
        let statistics = try heap.verify()

        let stat = try Self.shm("heap", "stat", "\(address)", "--json")
        #expect(stat.status == 0, "\(stat.errors)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stat.output.utf8)) as? [String: Any])
        #expect(object["address"] as? String == "\(address)")
        #expect(object["offset"] as? Int == heap.offset)
        #expect(object["size"] as? Int == statistics.byteCount)
        #expect(object["free"] as? Int == statistics.freeByteCount)
        #expect(object["largest_free_block"] as? Int == statistics.largestFreeBlock)
        #expect(object["allocations"] as? Int == 4)
        #expect(object["named_objects"] as? Int == 2)
        #expect(try Self.shm("heap", "stat", "\(address)").output.contains("named objects 2"))

        let names = try Self.shm("heap", "names", "\(address)", "--json")
        #expect(names.status == 0, "\(names.errors)")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(names.output.utf8)) as? [[String: Any]])
        #expect(list.map { $0["name"] as? String } == ["log", "origin"])
        #expect(list[1]["offset"] as? Int == Int(point.byteOffset))
        #expect(list[1]["size"] as? Int == 8 && list[1]["type"] as? String == "Point")
        #expect(list[0]["size"] as? Int == 100 && list[0]["count"] as? Int == 100 && list[0]["type"] as? String == "Swift.UInt8")
        let table = try Self.shm("heap", "names", "\(address)").output
        #expect(table.contains("origin") && table.contains("Point (8 bytes, alignment 8)"))
    }

    @Test("a heap at another offset is found with --offset")
    func offset() throws {
        let address = try TestNames.address(.posix, "cliheap")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 8192, mode: .create)
        _ = try SharedHeap.initialize(in: region, at: 256).construct("x", UInt32(1))
        #expect(try Self.shm("heap", "stat", "\(address)").status == 1)
        let names = try Self.shm("heap", "names", "\(address)", "--offset", "256")
        #expect(names.status == 0 && names.output.contains("x"), "\(names.errors)")
    }

    @Test("no region, a region without a heap, a corrupted heap: a typed error with a hint")
    func badInput() throws {
        let address = try TestNames.address(.posix, "cliheap")
        defer { cleanUp(address) }
        let missing = try Self.shm("heap", "stat", "\(address)")
        #expect(missing.status == 1 && missing.errors.contains("hint:"))
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let plain = try Self.shm("heap", "names", "\(address)")
        #expect(plain.status == 1 && plain.errors.contains("no SharedHeap") && plain.errors.contains("--offset"))
        let misaligned = try Self.shm("heap", "stat", "\(address)", "--offset", "8")
        #expect(misaligned.status == 1 && misaligned.errors.contains("hint:"))
        let heap = try SharedHeap.initialize(in: region)
        _ = try heap.construct("x", UInt32(1))
        // The name table's capacity, overwritten.
        let table = Int(try region.load(UInt64.self, at: 56))
        try region.store(UInt64(3), at: table + 8)
        for verb in ["stat", "names"] {
            let corrupted = try Self.shm("heap", verb, "\(address)")
            #expect(corrupted.status == 1 && corrupted.errors.contains("capacity") && corrupted.errors.contains("hint:"))
        }
        for bad in [["heap", "stat", "bogus"], ["heap", "names"], ["heap", "frobnicate", "\(address)"]] {
            let result = try ChildProcess("shm", bad).finish()
            #expect(result.status != 0 && !result.errors.isEmpty && !result.errors.contains("Fatal error"))
        }
    }
}
