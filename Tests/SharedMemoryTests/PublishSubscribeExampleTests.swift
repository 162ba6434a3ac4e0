import Foundation
import SharedMemory
import Testing

/// Docs/PublishSubscribe.md's example, compiled and run: the publisher here, subscribers in the
/// test peer (SharedMemoryTestPeer's `pubsub-example-subscribe`); a test checks that the page
/// shows exactly these lines.
@Suite("Publish-subscribe example")
struct PublishSubscribeExampleTests {
    func publish(name: String) throws {
        // PublishSubscribe example: publisher begins
        let address = try SharedRegionBackend.posix.address(forName: name)
        let service = try PublishSubscribeService(
            openingOrCreating: address,
            configuration: ServiceConfiguration(
                payloadByteCount: 64, maxSubscribers: 4, subscriberBufferCapacity: 128, historyCapacity: 128))
        let publisher = try Publisher(service: service)
        for number in 1...100 {
            let sample = try publisher.loan()  // a chunk of the pool, written in place
            sample.payload.storeBytes(of: Double(number) / 10, as: Double.self)
            try publisher.send(sample, byteCount: 8, timeout: .seconds(10))
        }
        try publisher.send(bytes: Array("end".utf8), timeout: .seconds(10))
        // PublishSubscribe example: publisher ends
    }

    @Test("the example reaches a subscriber started before the publisher and one started after it, with every reading")
    func exampleRuns() throws {
        let name = TestNames.unique("sensor")
        defer { cleanUp(try! SharedRegionBackend.posix.address(forName: name)) }
        let early = try ChildProcess.peer("pubsub-example-subscribe", name)
        try publish(name: name)
        let late = try ChildProcess.peer("pubsub-example-subscribe", name)
        for subscriber in [early, late] {
            #expect(try subscriber.readLine() == "readings 100, last 10.0")
            try subscriber.expectSuccess()
        }
    }

    @Test("Docs/PublishSubscribe.md and Docs/Channels.md show the example exactly", arguments: ["PublishSubscribe", "Channels"])
    func pageShowsExample(page name: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("Docs/\(name).md"), encoding: .utf8)
        for (file, part) in [
            ("Tests/SharedMemoryTests/PublishSubscribeExampleTests.swift", "publisher"),
            ("Sources/SharedMemoryTestPeer/PublishSubscribeSteps.swift", "subscriber"),
        ] {
            let lines = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8).components(separatedBy: "\n")
            let begin = try #require(lines.firstIndex { $0.hasSuffix("// PublishSubscribe example: \(part) begins") })
            let end = try #require(lines.firstIndex { $0.hasSuffix("// PublishSubscribe example: \(part) ends") })
            let indent = lines[begin].prefix { $0 == " " }.count
            let snippet = lines[(begin + 1)..<end].map { String($0.dropFirst(indent)) }.joined(separator: "\n")
            #expect(page.contains(snippet.replacingOccurrences(of: "forName: name", with: "forName: \"sensor\"")), "\(part)")
        }
    }
}
