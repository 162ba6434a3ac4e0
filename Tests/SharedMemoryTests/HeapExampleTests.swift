import Foundation
import SharedMemory
import Testing

/// Docs/Heap.md's two-process example, compiled and run: the writer here, the reader in the test
/// peer (SharedMemoryTestPeer's `heap-example-read`); a test checks that the page shows exactly
/// these lines.
@Suite("Heap example")
struct HeapExampleTests {
    func write(name: String) throws -> SharedHashMap<String, Int> {
        // Heap example: writer begins
        let address = try SharedRegionBackend.posix.address(forName: name)
        let heap = try SharedHeap.openInitialized(address, byteCount: 1 << 20)
        let stock = try SharedHashMap<String, Int>(openingOrCreating: "stock", in: heap)
        for (fruit, count) in [("apples", 12), ("pears", 7), ("plums", 30)] {
            try stock.updateValue(count, forKey: fruit)
        }
        // Heap example: writer ends
        return stock
    }

    @Test("the example shares a named hash map between two processes, both ways")
    func exampleRuns() throws {
        let name = TestNames.unique("inventory")
        defer { cleanUp(try! SharedRegionBackend.posix.address(forName: name)) }
        let stock = try write(name: name)
        let reader = try ChildProcess.peer("heap-example-read", name)
        #expect(try reader.readLine() == "apples 11, pears 7, plums 30")
        try reader.expectSuccess()
        #expect(try stock.value(forKey: "apples") == 11)
    }

    @Test("Docs/Heap.md shows the example exactly")
    func pageShowsExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("Docs/Heap.md"), encoding: .utf8)
        for (file, part) in [
            ("Tests/SharedMemoryTests/HeapExampleTests.swift", "writer"),
            ("Sources/SharedMemoryTestPeer/HeapContainerSteps.swift", "reader"),
        ] {
            let lines = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8).components(separatedBy: "\n")
            let begin = try #require(lines.firstIndex { $0.hasSuffix("// Heap example: \(part) begins") })
            let end = try #require(lines.firstIndex { $0.hasSuffix("// Heap example: \(part) ends") })
            let indent = lines[begin].prefix { $0 == " " }.count
            let snippet = lines[(begin + 1)..<end].map { String($0.dropFirst(indent)) }.joined(separator: "\n")
            #expect(page.contains(snippet.replacingOccurrences(of: "forName: name", with: "forName: \"inventory\"")), "\(part)")
        }
    }
}
