@testable import SharedMemory
import Testing

/// Publish-subscribe across real processes (the test peer's `pubsub-*` steps, which check every
/// sample's number and bytes), over every named backend.
@Suite("Publish-subscribe")
struct PublishSubscribeTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }

    func makeService(
        _ backend: SharedRegionBackend, _ configuration: ServiceConfiguration
    ) throws -> PublishSubscribeService {
        try PublishSubscribeService(
            openingOrCreating: try TestNames.address(backend, "pubsub"), configuration: configuration)
    }

    @Test("one publisher process, three subscriber processes: each receives every sample once, in order, intact", arguments: named)
    func fanOut(backend: SharedRegionBackend) throws {
        let service = try makeService(
            backend, ServiceConfiguration(payloadByteCount: 256, maxPublishers: 1, maxSubscribers: 4, subscriberBufferCapacity: 8))
        defer { cleanUp(service.address) }
        let address = "\(service.address)"
        let subscribers = try (0..<3).map { _ in try ChildProcess.peer("pubsub-subscribe", address, "0", "1000") }
        for subscriber in subscribers { #expect(try subscriber.readLine() == "attached") }
        let publisher = try ChildProcess.peer("pubsub-publish", address, "1000", "256")
        #expect(try publisher.readLine() == "sent 1000")
        try publisher.expectSuccess()
        for subscriber in subscribers {
            #expect(try subscriber.readLine() == "received 1000")
            try subscriber.expectSuccess()
        }
        let statistics = try service.statistics()
        #expect(statistics.freeChunkCount == statistics.chunkCount, "\(statistics)")
        #expect(statistics.publishers.isEmpty && statistics.subscribers.isEmpty, "\(statistics)")
    }

    @Test("discard-oldest: a subscriber that reads late gets the newest samples, the publisher never waits")
    func discardOldest() throws {
        let service = try makeService(
            .posix, ServiceConfiguration(payloadByteCount: 64, subscriberBufferCapacity: 4, overflowPolicy: .discardOldest))
        defer { cleanUp(service.address) }
        let subscriber = try ChildProcess.peer("pubsub-receive-increasing", "\(service.address)", "999")
        #expect(try subscriber.readLine() == "attached")
        let publisher = try ChildProcess.peer("pubsub-publish", "\(service.address)", "1000", "64")
        #expect(try publisher.readLine() == "sent 1000")
        try publisher.expectSuccess()
        try subscriber.send("go")
        // The queue holds the last four: 996 ... 999.
        #expect(try subscriber.readLine() == "received 4")
        try subscriber.expectSuccess()
        #expect(try service.statistics().freeChunkCount == service.configuration.chunkCount)
    }

    @Test("block: the publisher waits for a subscriber that reads late, and every sample arrives")
    func block() throws {
        let service = try makeService(
            .posix, ServiceConfiguration(payloadByteCount: 64, subscriberBufferCapacity: 4, overflowPolicy: .block))
        defer { cleanUp(service.address) }
        let subscriber = try ChildProcess.peer("pubsub-receive-increasing", "\(service.address)", "999")
        #expect(try subscriber.readLine() == "attached")
        let publisher = try ChildProcess.peer("pubsub-publish", "\(service.address)", "1000", "64")
        try subscriber.send("go")
        #expect(try subscriber.readLine() == "received 1000")
        #expect(try publisher.readLine() == "sent 1000")
        try publisher.expectSuccess()
        try subscriber.expectSuccess()
    }

    @Test("block: send gives up at its timeout while a subscriber's queue stays full")
    func blockTimeout() throws {
        let service = try makeService(
            .posix, ServiceConfiguration(payloadByteCount: 8, subscriberBufferCapacity: 2, overflowPolicy: .block))
        defer { cleanUp(service.address) }
        let publisher = try Publisher(service: service)
        let subscriber = try Subscriber(service: service)
        #expect(try publisher.send(value: UInt64(1), timeout: .milliseconds(10)))
        #expect(try publisher.send(value: UInt64(2), timeout: .milliseconds(10)))
        #expect(try !publisher.send(value: UInt64(3), timeout: .milliseconds(10)))
        #expect(try subscriber.receive(UInt64.self, timeout: .zero) == 1)
        #expect(try publisher.send(value: UInt64(4), timeout: .milliseconds(10)))
        #expect(try subscriber.receive(UInt64.self, timeout: .zero) == 2)
        #expect(try subscriber.receive(UInt64.self, timeout: .zero) == 4)
        #expect(try subscriber.receive(UInt64.self, timeout: .zero) == nil)
    }

    @Test("history: a subscriber that attaches after the publisher left gets its last samples", arguments: named)
    func history(backend: SharedRegionBackend) throws {
        let service = try makeService(
            backend, ServiceConfiguration(payloadByteCount: 64, subscriberBufferCapacity: 8, historyCapacity: 5))
        defer { cleanUp(service.address) }
        let publisher = try ChildProcess.peer("pubsub-publish", "\(service.address)", "20", "64")
        #expect(try publisher.readLine() == "sent 20")
        try publisher.expectSuccess()
        let subscriber = try ChildProcess.peer("pubsub-subscribe", "\(service.address)", "15", "5")
        #expect(try subscriber.readLine() == "attached")
        #expect(try subscriber.readLine() == "received 5")
        try subscriber.expectSuccess()
        // Only the history holds chunks now.
        #expect(try service.statistics().freeChunkCount == service.configuration.chunkCount - 5)
    }

    @Test("a subscriber killed while it holds samples leaks none once its death is seen")
    func killedSubscriber() throws {
        let service = try makeService(.posix, ServiceConfiguration(payloadByteCount: 64, subscriberBufferCapacity: 8))
        defer { cleanUp(service.address) }
        let total = service.configuration.chunkCount
        let subscriber = try ChildProcess.peer("pubsub-hold", "\(service.address)", "3")
        #expect(try subscriber.readLine() == "attached")
        let publisher = try Publisher(service: service)
        for number in 0..<6 { #expect(try publisher.send(value: UInt64(number))) }
        #expect(try subscriber.readLine() == "holding 3")
        // Three held, three still queued.
        #expect(try service.statistics().freeChunkCount == total - 6)
        try subscriber.kill()
        #expect(try service.cleanDeadPorts() == 1)
        let statistics = try service.statistics()
        #expect(statistics.freeChunkCount == total, "\(statistics)")
        #expect(statistics.subscribers.isEmpty)
    }

    @Test("opening with another configuration is a typed error naming both")
    func configurationMismatch() throws {
        let created = ServiceConfiguration(payloadByteCount: 64)
        let service = try makeService(.posix, created)
        defer { cleanUp(service.address) }
        var asked = created
        asked.historyCapacity = 3
        do {
            _ = try PublishSubscribeService(openingOrCreating: service.address, configuration: asked)
            Issue.record("opened with another configuration")
        } catch let error as SharedMemoryError {
            #expect(error.code == .layoutMismatch)
            #expect(error.message.contains(created.description) && error.message.contains(asked.description), "\(error)")
        }
        // Configurations whose regions have the same size are told apart by what the region records.
        var discarding = created
        discarding.overflowPolicy = .discardOldest
        var shorter = created
        shorter.payloadByteCount = 60
        for sameSize in [discarding, shorter] {
            #expect(try ServiceLayout(sameSize).totalByteCount == ServiceLayout(created).totalByteCount)
            do {
                _ = try PublishSubscribeService(openingOrCreating: service.address, configuration: sameSize)
                Issue.record("opened with \(sameSize)")
            } catch let error as SharedMemoryError {
                #expect(error.code == .layoutMismatch)
                #expect(error.message.contains(created.description) && error.message.contains(sameSize.description), "\(error)")
            }
        }
        let opened = try PublishSubscribeService(opening: service.address)
        #expect(opened.configuration == created)
    }

    @Test("a received sample is the chunk the publisher wrote, not a copy; dropping it returns the chunk")
    func zeroCopy() throws {
        let service = try makeService(.posix, ServiceConfiguration(payloadByteCount: 4096, payloadAlignment: 64))
        defer { cleanUp(service.address) }
        let publisher = try Publisher(service: service)
        let subscribers = try (0..<3).map { _ in try Subscriber(service: service) }
        let sample = try publisher.loan()
        let written = sample.payload.baseAddress
        #expect(Int(bitPattern: written) % 64 == 0)
        sample.payload.storeBytes(of: 0xFEED_FACE as UInt32, as: UInt32.self)
        #expect(try publisher.send(sample, byteCount: 4))
        for subscriber in subscribers {
            guard let received = try subscriber.receive() else {
                Issue.record("nothing received")
                return
            }
            #expect(received.bytes.baseAddress == UnsafeRawPointer(written))
            #expect(received.bytes.load(as: UInt32.self) == 0xFEED_FACE)
        }
        #expect(try service.statistics().freeChunkCount == service.configuration.chunkCount)
        // A loan dropped unsent goes back too.
        _ = try publisher.loan()
        #expect(try service.statistics().freeChunkCount == service.configuration.chunkCount)
    }

    @Test("bad configurations and limits are typed errors")
    func limits() throws {
        for bad in [
            ServiceConfiguration(payloadByteCount: 0), ServiceConfiguration(payloadByteCount: 8, payloadAlignment: 3),
            ServiceConfiguration(payloadByteCount: 8, maxPublishers: 40, maxSubscribers: 40),
            ServiceConfiguration(payloadByteCount: 8, subscriberBufferCapacity: 0),
        ] {
            #expect(throws: SharedMemoryError.self) { try bad.validate() }
        }
        let service = try makeService(
            .posix, ServiceConfiguration(payloadByteCount: 8, maxPublishers: 1, subscriberBufferCapacity: 1))
        defer { cleanUp(service.address) }
        let publisher = try Publisher(service: service)
        #expect(throws: SharedMemoryError.self) { _ = try Publisher(service: service) }
        let subscriber = try Subscriber(service: service)
        #expect(try publisher.send(bytes: [1, 2, 3]))
        #expect(throws: SharedMemoryError.self) { try publisher.send(bytes: [UInt8](repeating: 0, count: 9)) }
        guard let held = try subscriber.receive() else {
            Issue.record("nothing received")
            return
        }
        #expect(Array(held.bytes) == [1, 2, 3])
        #expect(throws: SharedMemoryError.self) { _ = try subscriber.receive() }
    }
}
