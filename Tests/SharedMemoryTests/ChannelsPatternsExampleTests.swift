import Foundation
import SharedMemory
import Testing

/// Docs/Channels.md's examples beside the ring's (ChannelsExampleTests): the events example, its
/// notifier here and its listener in the test peer (`channels-example-listen`), and the
/// publish-subscribe shell session, run with the real tool. Tests check that the page shows
/// exactly these lines.
@Suite("Channels example: events and the shell")
struct ChannelsPatternsExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func page() throws -> String {
        try String(contentsOf: root.appendingPathComponent("Docs/Channels.md"), encoding: .utf8)
    }

    func notify(name: String) throws {
        // Channels example: notifier begins
        let address = try SharedRegionBackend.posix.address(forName: name)
        let service = try EventService(openingOrCreating: address, configuration: EventConfiguration(maxEventID: 63))
        let notifier = try Notifier(service: service)
        for id in [3, 7, 0] { try notifier.notify(id) }
        // Channels example: notifier ends
    }

    @Test("the events example: a listener process hears every id the notifier fires after it attached")
    func eventsExampleRuns() throws {
        let name = TestNames.unique("alarms")
        let address = try SharedRegionBackend.posix.address(forName: name)
        defer { cleanUp(address) }
        // A watcher of our own learns when the listener process has attached (`attached` is posted to it).
        let service = try EventService(openingOrCreating: address, configuration: EventConfiguration(maxEventID: 63))
        let watcher = try Listener(service: service)
        let listener = try ChildProcess.peer("channels-example-listen", name)
        while try !watcher.wait(timeout: .seconds(20)).portChanges.contains(.attached) {}
        try notify(name: name)
        #expect(try listener.readLine() == "alarms [0, 3, 7]")
        try listener.expectSuccess()
    }

    @Test("Docs/Channels.md and Docs/Events.md show the events example exactly", arguments: ["Channels", "Events"])
    func pageShowsEventsExample(page name: String) throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("Docs/\(name).md"), encoding: .utf8)
        for (file, part) in [
            ("Tests/SharedMemoryTests/ChannelsPatternsExampleTests.swift", "notifier"),
            ("Sources/SharedMemoryTestPeer/ChannelSteps.swift", "listener"),
        ] {
            let lines = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
                .components(separatedBy: "\n")
            let begin = try #require(lines.firstIndex { $0.hasSuffix("// Channels example: \(part) begins") })
            let end = try #require(lines.firstIndex { $0.hasSuffix("// Channels example: \(part) ends") })
            let indent = lines[begin].prefix { $0 == " " }.count
            let snippet = lines[(begin + 1)..<end].map { String($0.dropFirst(indent)) }.joined(separator: "\n")
            #expect(page.contains(snippet.replacingOccurrences(of: "forName: name", with: "forName: \"alarms\"")), "\(part)")
        }
    }

    /// The publish-subscribe shell session of the page: each command, what it reads, what it prints.
    static func session(_ address: String) -> [(command: String, arguments: [String], input: String, output: String)] {
        [
            ("shm service create \(address) --payload-size 64 --subscribers 4 --history 16",
             ["service", "create", address, "--payload-size", "64", "--subscribers", "4", "--history", "16"], "", address + "\n"),
            ("printf 'one\\ntwo\\nthree\\n' | shm publish \(address)", ["publish", address], "one\ntwo\nthree\n", ""),
            ("shm subscribe \(address) --count 3 --timeout 10",
             ["subscribe", address, "--count", "3", "--timeout", "10"], "", "one\ntwo\nthree\n"),
        ]
    }

    @Test("the publish-subscribe shell session runs: two subscriber processes, before and after the publisher")
    func shellSessionRuns() throws {
        let address = try TestNames.address(.posix, "sensor").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        let steps = Self.session(address)
        func run(_ step: (command: String, arguments: [String], input: String, output: String)) throws -> ChildProcess {
            let process = try ChildProcess("shm", step.arguments)
            if !step.input.isEmpty { try process.write(Array(step.input.utf8)) }
            return process
        }
        func expect(_ process: ChildProcess, _ step: (command: String, arguments: [String], input: String, output: String)) throws {
            let result = try process.finish()
            #expect(result.status == 0, "\(step.command): \(result.errors)")
            #expect(String(decoding: result.output, as: UTF8.self) == step.output, "\(step.command)")
        }
        try expect(try run(steps[0]), steps[0])
        // One subscriber attached before the publisher (it waits), one after it (the history).
        let early = try run(steps[2])
        try expect(try run(steps[1]), steps[1])
        try expect(try run(steps[2]), steps[2])
        try expect(early, steps[2])
        #expect(try ChildProcess("shm", ["service", "stat", address]).finish().status == 0)
    }

    @Test("Docs/Channels.md shows the publish-subscribe shell session exactly")
    func pageShowsShellSession() throws {
        let lines = Self.session("posix:/sensor").flatMap { step in
            ["$ " + step.command] + step.output.split(separator: "\n").map(String.init)
        }
        #expect(try Self.page().contains(lines.joined(separator: "\n")))
    }
}
