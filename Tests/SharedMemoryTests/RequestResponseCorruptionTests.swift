@testable import SharedMemory
import Testing

/// A peer that writes garbage into a request-response service's region: a second process (the
/// test peer) writes bad bytes where the layout puts a field, and the port in this process gets a
/// `.corrupted` error naming the field and its value, never a trap.
@Suite("Request-response against a hostile peer")
struct RequestResponseCorruptionTests {
    static let configuration = RequestResponseConfiguration(
        requestPayloadByteCount: 64, responsePayloadByteCount: 64, maxClients: 1, maxServers: 1, bufferCapacity: 4)

    struct HostileService {
        let service: RequestResponseService
        let layout: RequestResponseLayout

        init() throws {
            service = try RequestResponseService(
                openingOrCreating: try TestNames.address(.posix, "hostile-reqres"),
                configuration: RequestResponseCorruptionTests.configuration)
            layout = try RequestResponseLayout(RequestResponseCorruptionTests.configuration)
        }

        /// Another process writes `value` (little-endian u64) at `offset`.
        func peerWrites(_ offset: Int, _ value: UInt64) throws {
            try ChildProcess(
                "SharedMemoryTestPeer",
                ["open", "\(service.address)", "write", "\(offset)", hex(withUnsafeBytes(of: value.littleEndian) { Array($0) })]
            ).expectSuccess()
        }

        /// The length in the first entry of the request queue from client 0 to server 0 (a request's
        /// length travels in its queue entry; the entry's mark follows it).
        var firstRequestLength: Int {
            layout.channel.queue(publisher: 0, subscriber: 0) + ServiceLayout.queueSlotsOffset + ServiceLayout.QueueEntry.length
        }
        var responseQueue: Int { layout.responseQueue(server: 0, client: 0) }
        /// The length in the first entry of the response queue from server 0 to client 0.
        var firstResponseLength: Int {
            responseQueue + ServiceLayout.queueSlotsOffset + ServiceLayout.QueueEntry.length
        }
    }

    @Test("a request shorter than its header")
    func requestLength() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let client = try Client(service: hostile.service)
        let server = try Server(service: hostile.service)
        #expect(try client.send(bytes: [1]) != nil)  // the pool's first chunk, 0
        try hostile.peerWrites(hostile.firstRequestLength, 1 << 32 | 3)  // the mark kept: 1, position 0
        expectCorrupted("length of chunk 0", 3) { _ = try server.receive() }
        #expect(try hostile.service.statistics().freeChunkCount == hostile.service.configuration.chunkCount)
    }

    @Test("a response longer than the response payload")
    func responseLength() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let client = try Client(service: hostile.service)
        let server = try Server(service: hostile.service)
        #expect(try client.send(bytes: [1]) != nil)
        guard let request = try server.receive() else {
            Issue.record("no request")
            return
        }
        #expect(try server.respond(to: request, bytes: [2]))  // chunk 1
        try hostile.peerWrites(hostile.firstResponseLength, 1 << 32 | 65536)  // the mark kept: 1, position 0
        expectCorrupted("length of chunk 1", 65536) { _ = try client.receive() }
    }

    @Test("a response queue's head too far ahead of its tail, and an entry that names no chunk")
    func responseQueue() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let client = try Client(service: hostile.service)
        let server = try Server(service: hostile.service)
        #expect(try client.send(bytes: [1]) != nil)
        guard let request = try server.receive() else {
            Issue.record("no request")
            return
        }
        #expect(try server.respond(to: request, bytes: [2]))
        try hostile.peerWrites(hostile.responseQueue + ServiceLayout.queueSlotsOffset, 999_999)
        expectCorrupted("queue entry 0", 999_999) { _ = try client.receive() }
        try hostile.peerWrites(hostile.responseQueue + ServiceLayout.Queue.head, 1000)
        expectCorrupted("queue head", 1000) { _ = try client.receive() }
        expectCorrupted("queue head", 1000) { try server.respond(to: request, bytes: [3]) }
    }

    @Test("a recorded configuration out of range")
    func configuration() throws {
        let hostile = try HostileService()
        defer { cleanUp(hostile.service.address) }
        let block = hostile.layout.channel.configurationOffset
        try hostile.peerWrites(block + RequestResponseLayout.Field.maxServers, 70_000)
        expectCorrupted("maxServers", 70_000) { _ = try RequestResponseService(opening: hostile.service.address) }
        try hostile.peerWrites(block + RequestResponseLayout.Field.requestPayloadByteCount, 1 << 40)
        expectCorrupted("requestPayloadByteCount", 1 << 40) {
            _ = try RequestResponseService(opening: hostile.service.address)
        }
    }
}
