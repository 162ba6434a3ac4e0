import Foundation
import SharedMemory
import Testing

/// The README's example, compiled and run here so it cannot rot; a test checks the README
/// still shows exactly these lines.
@Suite("README example")
struct ReadmeExampleTests {
    func example(name: String) throws -> String {
        // README example begins
        // A named backend (sysv, posix or file), from SHARED_MEMORY_BACKEND or chosen here.
        let backend = try SharedRegionBackend.fromEnvironment() ?? .posix
        let address = try backend.address(forName: name)  // posix:/orders, sysv:0x325e96ec, ...

        // One process creates the region (or opens it if it is there) and writes.
        let writer = try SharedRegions.open(address, size: 4096, mode: .openOrCreate)
        try writer.write(Array("hello".utf8), at: 0)

        // Another process opens the same address and reads.
        let reader = try SharedRegions.open(address, mode: .open, access: .readOnly)
        let greeting = String(decoding: try reader.read(at: 0, count: 5), as: UTF8.self)

        try writer.remove()  // the name goes; both mappings stay valid until released
        // README example ends
        return greeting
    }

    @Test("the example works")
    func exampleRuns() throws {
        #expect(try example(name: TestNames.unique("readme")) == "hello")
    }

    @Test("README.md shows the example exactly")
    func readmeShowsExample() throws {
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = source.components(separatedBy: "\n")
        let begin = try #require(lines.firstIndex { $0.hasSuffix("// README example begins") })
        let end = try #require(lines.firstIndex { $0.hasSuffix("// README example ends") })
        let snippet = lines[(begin + 1)..<end].map { String($0.dropFirst(8)) }.joined(separator: "\n")
        #expect(readme.contains(snippet.replacingOccurrences(of: "forName: name", with: "forName: \"orders\"")))
    }
}
