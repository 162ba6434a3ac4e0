import Foundation
import SharedMemory
import Testing

/// Docs/Channels.md's two-process example, compiled and run: the producer here, the consumer in
/// the test peer (SharedMemoryTestPeer's `channels-example-consume`); a test checks that the page
/// shows exactly these lines.
@Suite("Channels example")
struct ChannelsExampleTests {
    struct OrdersStopped: Error {}

    func produce(name: String) throws {
        // Channels example: producer begins
        let address = try SharedRegionBackend.posix.address(forName: name)
        var producer = try SPSCRing.Producer(openingOrCreating: address, capacity: 1 << 16)
        for number in 1...1000 {
            let order = Array("order \(number)".utf8)
            guard try producer.send(order, timeout: .seconds(10)) else { throw OrdersStopped() }
        }
        try producer.send(Array("end".utf8))
        // Channels example: producer ends
    }

    @Test("the example moves 1,000 orders from one process to another, whichever starts first", arguments: [true, false])
    func exampleRuns(consumerFirst: Bool) throws {
        let name = TestNames.unique("orders")
        let address = try SharedRegionBackend.posix.address(forName: name)
        defer { cleanUp(address) }
        var consumer: ChildProcess?
        if consumerFirst { consumer = try ChildProcess.peer("channels-example-consume", name) }
        try produce(name: name)
        if consumer == nil { consumer = try ChildProcess.peer("channels-example-consume", name) }
        #expect(try consumer?.readLine() == "orders 1000, last order 1000")
        try consumer?.expectSuccess()
    }

    @Test("Docs/Channels.md shows the example exactly")
    func pageShowsExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("Docs/Channels.md"), encoding: .utf8)
        for (file, part) in [
            ("Tests/SharedMemoryTests/ChannelsExampleTests.swift", "producer"),
            ("Sources/SharedMemoryTestPeer/ChannelSteps.swift", "consumer"),
        ] {
            let lines = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8).components(separatedBy: "\n")
            let begin = try #require(lines.firstIndex { $0.hasSuffix("// Channels example: \(part) begins") })
            let end = try #require(lines.firstIndex { $0.hasSuffix("// Channels example: \(part) ends") })
            let indent = lines[begin].prefix { $0 == " " }.count
            let snippet = lines[(begin + 1)..<end].map { String($0.dropFirst(indent)) }.joined(separator: "\n")
            #expect(page.contains(snippet.replacingOccurrences(of: "forName: name", with: "forName: \"orders\"")), "\(part)")
        }
    }
}
