@testable import SharedMemory
import Testing

/// A peer that writes garbage into a service's region: each test lets a second process (the
/// test peer) write bad bytes where the layout puts a field, and checks that the port in this
/// process gets a `.corrupted` error naming the field and its value, never a trap.
@Suite("Publish-subscribe against a hostile peer")
struct PublishSubscribeCorruptionTests {
    static let configuration = ServiceConfiguration(
        payloadByteCount: 64, maxPublishers: 1, maxSubscribers: 1, subscriberBufferCapacity: 4)

    struct HostileService {
        let service: PublishSubscribeService
        let layout: ServiceLayout

        init() throws {
            service = try PublishSubscribeService(
                openingOrCreating: try TestNames.address(.posix, "hostile-service"),
                configuration: PublishSubscribeCorruptionTests.configuration)
            layout = try ServiceLayout(PublishSubscribeCorruptionTests.configuration)
        }

        /// Another process writes `value` (little-endian u64) at `offset`.
        func peerWrites(_ offset: Int, _ value: UInt64) throws {
            try ChildProcess(
                "SharedMemoryTestPeer",
                ["open", "\(service.address)", "write", "\(offset)", hex(withUnsafeBytes(of: value.littleEndian) { Array($0) })]
            ).expectSuccess()
        }
    }

    @Test("a queue head too far ahead of the tail")
    func queueHead() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let publisher = try Publisher(service: hostile.service)
        let subscriber = try Subscriber(service: hostile.service)
        #expect(try publisher.send(value: UInt64(1)))
        try hostile.peerWrites(hostile.layout.queue(publisher: 0, subscriber: 0) + ServiceLayout.Queue.head, 1000)
        // A receive finds the sample by its entry's mark, without the head; the re-check before
        // sleeping reads the head.
        #expect(try subscriber.receive(UInt64.self, timeout: .seconds(10), strategy: SpinThenWait(spins: 0)) == 1)
        expectCorrupted("queue head", 1000) { _ = try subscriber.receive(timeout: .seconds(10), strategy: SpinThenWait(spins: 0)) }
        expectCorrupted("queue head", 1000) { try publisher.send(value: UInt64(2)) }
    }

    @Test("a queue entry that names no chunk")
    func queueEntry() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let publisher = try Publisher(service: hostile.service)
        let subscriber = try Subscriber(service: hostile.service)
        #expect(try publisher.send(value: UInt64(1)))
        try hostile.peerWrites(hostile.layout.queue(publisher: 0, subscriber: 0) + ServiceLayout.queueSlotsOffset, 999_999)
        expectCorrupted("queue entry 0", 999_999) { _ = try subscriber.receive() }
    }

    @Test("a sample length larger than the payload")
    func sampleLength() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let publisher = try Publisher(service: hostile.service)
        let subscriber = try Subscriber(service: hostile.service)
        #expect(try publisher.send(value: UInt64(1)))  // the pool's first chunk, 0
        // The entry's length, and its mark unchanged (1: the entry at position 0).
        let entry = hostile.layout.queue(publisher: 0, subscriber: 0) + ServiceLayout.queueSlotsOffset
        try hostile.peerWrites(entry + ServiceLayout.QueueEntry.length, 1 << 32 | 65536)
        expectCorrupted("length in the queue entry of chunk 0", 65536) { _ = try subscriber.receive() }
    }

    @Test("a free list head outside the pool, and a free chunk with holders")
    func freeList() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let publisher = try Publisher(service: hostile.service)
        try hostile.peerWrites(hostile.layout.chunkRecord(0) + ServiceLayout.ChunkRecord.holders, 1)
        expectCorrupted("holders of free chunk 0", 1) { _ = try publisher.loan() }
        try hostile.peerWrites(hostile.layout.poolHeadOffset, 0x1_0000_7777)
        expectCorrupted("free list head", 0x7777) { _ = try publisher.loan() }
    }

    @Test("a port word no process of this library writes")
    func portWord() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        try hostile.peerWrites(hostile.layout.subscriberPort(0) + ServiceLayout.Port.word, 3)
        expectCorrupted("subscriber port 0", 3) { _ = try Publisher(service: hostile.service) }
        expectCorrupted("subscriber port 0", 3) { _ = try hostile.service.statistics() }
    }

    @Test("publisher changes with bits no process of this library posts")
    func publisherChanges() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let subscriber = try Subscriber(service: hostile.service)
        try hostile.peerWrites(hostile.layout.subscriberPort(0) + ServiceLayout.Port.publisherChanges, 0xF0)
        expectCorrupted("publisher changes of subscriber 0", 0xF0) { _ = try subscriber.publisherChanges() }
    }

    @Test("a recorded configuration out of range")
    func configuration() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        try hostile.peerWrites(hostile.layout.configurationOffset + ServiceLayout.Field.overflowPolicy, 7 | 7 << 32)
        expectCorrupted("overflowPolicy", 7) { _ = try PublishSubscribeService(opening: hostile.service.address) }
        try hostile.peerWrites(hostile.layout.configurationOffset + ServiceLayout.Field.payloadByteCount, 1 << 40)
        expectCorrupted("payloadByteCount", 1 << 40) { _ = try PublishSubscribeService(opening: hostile.service.address) }
    }
}
