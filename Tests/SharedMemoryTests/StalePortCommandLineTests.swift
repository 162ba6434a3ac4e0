#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SharedMemory
import Testing

/// `shm list` showing services with their ports and the dead ones, and `shm remove --stale`
/// cleaning those: run as the real tool, on ports killed with SIGKILL. Every call names its
/// service: other tests' services have ports dying on purpose.
@Suite("Dead ports on the command line")
struct StalePortCommandLineTests {
    static func shm(_ arguments: String...) throws -> (status: Int32, output: String, errors: String) {
        let result = try ChildProcess("shm", arguments).finish()
        return (result.status, String(decoding: result.output, as: UTF8.self), result.errors)
    }

    static func listed(_ address: RegionAddress) throws -> [String: Any] {
        let result = try shm("list", "--json", "--backend", address.backend.rawValue, "--directory", TestNames.fileDirectory)
        #expect(result.status == 0, "\(result.errors)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
        return try #require(entries.first { $0["address"] as? String == address.description })
    }

    @Test("a publish-subscribe service: list shows the dead subscriber, remove --stale cleans it and its samples",
          arguments: PublishSubscribeTests.named)
    func publishSubscribe(backend: SharedRegionBackend) throws {
        let service = try PublishSubscribeService(
            openingOrCreating: try TestNames.address(backend, "stale-ports"),
            configuration: ServiceConfiguration(payloadByteCount: 64, maxPublishers: 1, subscriberBufferCapacity: 4))
        defer { cleanUp(service.address) }
        let address = service.address
        let subscriber = try ChildProcess.peer("pubsub-hold", "\(address)", "2")
        #expect(try subscriber.readLine() == "attached")
        let publisher = try Publisher(service: service)
        for number in 0..<3 { #expect(try publisher.send(value: UInt64(number), timeout: .seconds(20))) }
        #expect(try subscriber.readLine() == "holding 2")
        let pid = subscriber.pid
        try subscriber.kill()

        let entry = try Self.listed(address)
        let listed = try #require(entry["service"] as? [String: Any], "\(entry)")
        #expect(listed["pattern"] as? String == "publish-subscribe")
        #expect(listed["dead_ports"] as? Int == 1)
        let ports = try #require(listed["ports"] as? [[String: Any]])
        #expect(ports.count == 2, "\(ports)")
        #expect(ports.contains { $0["kind"] as? String == "publisher" && $0["pid"] as? Int == Int(getpid()) && $0["alive"] as? Bool == true })
        #expect(ports.contains { $0["kind"] as? String == "subscriber" && $0["pid"] as? Int == Int(pid) && $0["alive"] as? Bool == false })
        let table = try Self.shm("list", "--backend", backend.rawValue, "--directory", TestNames.fileDirectory)
        let row = try #require(table.output.split(separator: "\n").first { $0.contains(" \(address) ") }, "\(table.output)")
        #expect(row.contains("dead ports") && row.contains("publish-subscribe") && row.contains("subscriber 0 pid \(pid)"), "\(row)")
        #expect(try service.statistics().freeChunkCount == service.configuration.chunkCount - 3)

        let removed = try Self.shm("remove", "--stale", "\(address)")
        #expect(removed.status == 0, "\(removed.errors)")
        #expect(removed.output == "cleaned \(address) (dead ports: subscriber 0 pid \(pid))\n")
        let statistics = try service.statistics()
        #expect(statistics.subscribers.isEmpty && statistics.publishers.count == 1, "\(statistics)")
        #expect(statistics.freeChunkCount == statistics.chunkCount, "\(statistics)")
        let after = try #require(try Self.listed(address)["service"] as? [String: Any])
        #expect(after["dead_ports"] as? Int == 0)
        // Nothing more to clean: nothing printed.
        #expect(try Self.shm("remove", "--stale", "\(address)").output.isEmpty)
        withExtendedLifetime(publisher) {}
    }

    @Test("an event service: list shows the dead listener, remove --stale frees its slot")
    func events() throws {
        let service = try EventService(
            openingOrCreating: try TestNames.address(.posix, "stale-ports"), configuration: EventConfiguration())
        defer { cleanUp(service.address) }
        let notifier = try Notifier(service: service)
        let listener = try ChildProcess.peer("event-listen", "\(service.address)", "1")
        #expect(try listener.readLine() == "attached 0")
        let pid = listener.pid
        try listener.kill()

        let listed = try #require(try Self.listed(service.address)["service"] as? [String: Any])
        #expect(listed["pattern"] as? String == "events")
        #expect(listed["dead_ports"] as? Int == 1)
        #expect((listed["ports"] as? [Any])?.count == 2)
        let removed = try Self.shm("remove", "--stale", "\(service.address)")
        #expect(removed.status == 0, "\(removed.errors)")
        #expect(removed.output == "cleaned \(service.address) (dead ports: listener 0 pid \(pid))\n")
        let attached = try service.attachedProcesses()
        #expect(attached.notifiers == [getpid()] && attached.listeners.isEmpty)
        withExtendedLifetime(notifier) {}
    }
}
