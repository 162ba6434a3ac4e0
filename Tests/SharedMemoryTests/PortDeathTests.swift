#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import Testing

/// Ports whose processes are killed with SIGKILL (the test peer's steps), found by the live ports
/// that wait on them: no chunk leaked, a dead publisher reported after what it sent was read.
@Suite("Dead ports")
struct PortDeathTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }

    func makeService(_ backend: SharedRegionBackend, _ configuration: ServiceConfiguration) throws -> PublishSubscribeService {
        try PublishSubscribeService(openingOrCreating: try TestNames.address(backend, "death"), configuration: configuration)
    }

    /// The number the next test sample starts with (`ServiceMessage` in the peer); `nil` if none came.
    static func receiveNumber(_ subscriber: Subscriber, timeout: Duration) throws -> UInt64? {
        guard let sample = try subscriber.receive(timeout: timeout), sample.bytes.count >= 8 else { return nil }
        return UInt64(littleEndian: sample.bytes.loadUnaligned(as: UInt64.self))
    }

    @Test("a publisher blocked on the full queue of a killed subscriber cleans it and sends; no chunk leaked")
    func blockedOnDeadSubscriber() throws {
        let service = try makeService(
            .posix, ServiceConfiguration(payloadByteCount: 64, maxPublishers: 1, subscriberBufferCapacity: 4))
        defer { cleanUp(service.address) }
        let subscriber = try ChildProcess.peer("pubsub-hold", "\(service.address)", "4")
        #expect(try subscriber.readLine() == "attached")
        let publisher = try Publisher(service: service)
        for number in 0..<4 { #expect(try publisher.send(value: UInt64(number), timeout: .seconds(20))) }
        #expect(try subscriber.readLine() == "holding 4")
        // Its queue fills up behind the four it holds.
        for number in 4..<8 { #expect(try publisher.send(value: UInt64(number), timeout: .seconds(20))) }
        #expect(try service.statistics().freeChunkCount == service.configuration.chunkCount - 8)
        try subscriber.kill()
        // No timeout runs out here: the blocked publisher finds the subscriber dead while it waits.
        #expect(try publisher.send(value: UInt64(8), timeout: .seconds(20)))
        let statistics = try service.statistics()
        #expect(statistics.subscribers.isEmpty, "\(statistics)")
        #expect(statistics.freeChunkCount == statistics.chunkCount, "\(statistics)")
    }

    @Test("a waiting subscriber receives all a killed publisher sent, then learns it died", arguments: named)
    func deadPublisherReported(backend: SharedRegionBackend) throws {
        let service = try makeService(
            backend, ServiceConfiguration(payloadByteCount: 64, maxPublishers: 1, maxSubscribers: 2, subscriberBufferCapacity: 8))
        defer { cleanUp(service.address) }
        let address = "\(service.address)"
        let subscriber = try Subscriber(service: service)
        // A second subscriber that dies holding three samples, two more waiting in its queue.
        let holder = try ChildProcess.peer("pubsub-hold", address, "3")
        #expect(try holder.readLine() == "attached")
        let publisher = try ChildProcess.peer("pubsub-publish-hold", address, "5", "64")
        #expect(try publisher.readLine() == "sent 5")
        #expect(try holder.readLine() == "holding 3")
        try holder.kill()
        try publisher.kill()
        for number in 0..<5 {
            #expect(try Self.receiveNumber(subscriber, timeout: .seconds(20)) == UInt64(number))
        }
        // Sleeping, the subscriber looks for the dead, cleans both ports and reports the publisher.
        do {
            _ = try subscriber.receive(timeout: .seconds(20))
            Issue.record("no death reported")
        } catch {
            #expect(error.code == .peerDied, "\(error)")
        }
        // Reported once; the changes left are the attachment.
        #expect(try Self.receiveNumber(subscriber, timeout: .zero) == nil)
        #expect(try subscriber.publisherChanges() == [.attached])
        let statistics = try service.statistics()
        #expect(statistics.publishers.isEmpty && statistics.subscribers.count == 1, "\(statistics)")
        #expect(statistics.freeChunkCount == statistics.chunkCount, "\(statistics)")
    }

    @Test("a publisher that died while another lives is a change to look at, not an error")
    func deadPublisherAmongLive() throws {
        let service = try makeService(.posix, ServiceConfiguration(payloadByteCount: 64, subscriberBufferCapacity: 8))
        defer { cleanUp(service.address) }
        let subscriber = try Subscriber(service: service)
        let live = try Publisher(service: service)
        let doomed = try ChildProcess.peer("pubsub-publish-hold", "\(service.address)", "2", "64")
        #expect(try doomed.readLine() == "sent 2")
        try doomed.kill()
        #expect(try service.cleanDeadPorts() == 1)
        for number in 0..<2 {
            #expect(try Self.receiveNumber(subscriber, timeout: .zero) == UInt64(number))
        }
        #expect(try Self.receiveNumber(subscriber, timeout: .zero) == nil)
        #expect(try subscriber.publisherChanges() == [.attached, .died])
        #expect(try subscriber.publisherChanges().isEmpty)
        withExtendedLifetime(live) {}
    }

    @Test("a listener waiting without a timeout wakes when a port's process is killed")
    func listenerNoticesDeath() throws {
        let service = try EventService(
            openingOrCreating: try TestNames.address(.posix, "death"), configuration: EventConfiguration())
        defer { cleanUp(service.address) }
        let listener = try Listener(service: service)
        let doomed = try ChildProcess.peer("event-listen", "\(service.address)", "1")
        #expect(try doomed.readLine()?.hasPrefix("attached ") == true)
        #expect(try listener.tryWait().portChanges == [.attached])
        try doomed.kill()
        #expect(try listener.wait(timeout: nil).portChanges == [.died])
        #expect(try service.attachedProcesses().listeners == [getpid()])
    }
}
