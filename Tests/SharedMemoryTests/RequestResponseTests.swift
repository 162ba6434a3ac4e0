import SharedMemory
import Testing

/// Request-response across real processes (the test peer's `reqres-*` steps, which check every
/// request's and response's number and bytes), over every named backend.
@Suite("Request-response")
struct RequestResponseTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }

    func makeService(
        _ backend: SharedRegionBackend, _ configuration: RequestResponseConfiguration
    ) throws -> RequestResponseService {
        try RequestResponseService(
            openingOrCreating: try TestNames.address(backend, "reqres"), configuration: configuration)
    }

    func expectAllFree(_ service: RequestResponseService, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let statistics = try service.statistics()
        #expect(statistics.freeChunkCount == statistics.chunkCount, "\(statistics)", sourceLocation: sourceLocation)
    }

    @Test("a client process and a server process: N requests each answered once, in order, intact", arguments: named)
    func roundTrips(backend: SharedRegionBackend) throws {
        let service = try makeService(
            backend, RequestResponseConfiguration(requestPayloadByteCount: 256, responsePayloadByteCount: 256))
        defer { cleanUp(service.address) }
        let server = try ChildProcess.peer("reqres-serve", "\(service.address)", "1000", "1")
        #expect(try server.readLine() == "serving")
        let client = try ChildProcess.peer("reqres-request", "\(service.address)", "1000", "1")
        #expect(try client.readLine() == "answered 1000")
        #expect(try server.readLine() == "served 1000")
        try client.expectSuccess()
        try server.expectSuccess()
        try expectAllFree(service)
        let statistics = try service.statistics()
        #expect(statistics.clients.isEmpty && statistics.servers.isEmpty, "\(statistics)")
    }

    @Test("three client processes share one server: each gets the answers to its own requests")
    func severalClients() throws {
        let service = try makeService(
            .posix, RequestResponseConfiguration(requestPayloadByteCount: 256, responsePayloadByteCount: 256, bufferCapacity: 4))
        defer { cleanUp(service.address) }
        let server = try ChildProcess.peer("reqres-serve", "\(service.address)", "900", "2")
        #expect(try server.readLine() == "serving")
        let clients = try (0..<3).map { _ in try ChildProcess.peer("reqres-request", "\(service.address)", "300", "2") }
        for client in clients {
            #expect(try client.readLine() == "answered 300")
            try client.expectSuccess()
        }
        #expect(try server.readLine() == "served 900")
        try server.expectSuccess()
        try expectAllFree(service)
    }

    @Test("several responses per request, more than the client's buffer holds at once", arguments: named)
    func multipleResponses(backend: SharedRegionBackend) throws {
        let service = try makeService(
            backend,
            RequestResponseConfiguration(requestPayloadByteCount: 64, responsePayloadByteCount: 256, bufferCapacity: 2))
        defer { cleanUp(service.address) }
        let server = try ChildProcess.peer("reqres-serve", "\(service.address)", "100", "5")
        #expect(try server.readLine() == "serving")
        let client = try ChildProcess.peer("reqres-request", "\(service.address)", "100", "5")
        #expect(try client.readLine() == "answered 100")
        #expect(try server.readLine() == "served 100")
        try client.expectSuccess()
        try server.expectSuccess()
        try expectAllFree(service)
    }

    @Test("receiving and responding give up at their timeouts")
    func timeouts() throws {
        let service = try makeService(
            .posix, RequestResponseConfiguration(requestPayloadByteCount: 8, responsePayloadByteCount: 8, bufferCapacity: 2))
        defer { cleanUp(service.address) }
        let client = try Client(service: service)
        let server = try Server(service: service)
        #expect(try client.receive(timeout: .milliseconds(10)) == nil)
        #expect(try server.receive(timeout: .milliseconds(10)) == nil)
        let id = try #require(try client.send(bytes: [1]))
        guard let request = try server.receive(timeout: .seconds(10)) else {
            Issue.record("no request")
            return
        }
        #expect(request.id == id && Array(request.bytes) == [1])
        #expect(try server.respond(to: request, bytes: [2], timeout: .milliseconds(10)))
        #expect(try server.respond(to: request, bytes: [3], timeout: .milliseconds(10)))
        // The client's queue from this server holds 2: the third waits, and gives up.
        #expect(try !server.respond(to: request, bytes: [4], timeout: .milliseconds(10)))
        for expected: UInt8 in [2, 3] {
            guard let response = try client.receive(responseTo: id, timeout: .seconds(10)) else {
                Issue.record("no response \(expected)")
                return
            }
            #expect(Array(response.bytes) == [expected] && response.requestID == id)
        }
        #expect(try client.receive(responseTo: id, timeout: .milliseconds(10)) == nil)
    }

    @Test("a response is the chunk the server wrote, not a copy; dropping it returns the chunk")
    func zeroCopy() throws {
        let service = try makeService(
            .posix,
            RequestResponseConfiguration(requestPayloadByteCount: 4096, responsePayloadByteCount: 4096, payloadAlignment: 64))
        defer { cleanUp(service.address) }
        let client = try Client(service: service)
        let server = try Server(service: service)
        let request = try client.loan()
        let requestBytes = request.payload.baseAddress
        #expect(Int(bitPattern: requestBytes) % 64 == 0)
        request.payload.storeBytes(of: 0xC0FFEE as UInt32, as: UInt32.self)
        let id = try #require(try client.send(request, byteCount: 4))
        guard let received = try server.receive() else {
            Issue.record("no request")
            return
        }
        #expect(received.bytes.baseAddress == UnsafeRawPointer(requestBytes))
        #expect(received.bytes.load(as: UInt32.self) == 0xC0FFEE)
        let response = try server.loan(respondingTo: received)
        let responseBytes = response.payload.baseAddress
        response.payload.storeBytes(of: 0xFEED_FACE as UInt32, as: UInt32.self)
        #expect(response.requestID == id)
        #expect(try server.send(response, byteCount: 4))
        _ = consume received
        guard let answer = try client.receive() else {
            Issue.record("no response")
            return
        }
        #expect(answer.bytes.baseAddress == UnsafeRawPointer(responseBytes))
        #expect(answer.bytes.load(as: UInt32.self) == 0xFEED_FACE && answer.requestID == id && answer.server == 0)
        _ = consume answer
        try expectAllFree(service)
        // Loans dropped unsent go back too.
        _ = try client.loan()
        try expectAllFree(service)
    }

    @Test("a client killed while it holds responses and has a request pending leaks no chunk once its death is seen")
    func killedClient() throws {
        let service = try makeService(
            .posix, RequestResponseConfiguration(requestPayloadByteCount: 64, responsePayloadByteCount: 64, bufferCapacity: 8))
        defer { cleanUp(service.address) }
        let server = try Server(service: service)
        let client = try ChildProcess.peer("reqres-hold", "\(service.address)", "3")
        for number in 0..<3 {
            guard let request = try server.receive(timeout: .seconds(20)) else {
                Issue.record("request \(number) did not come")
                return
            }
            #expect(try server.respond(to: request, bytes: Array(request.bytes)))
        }
        #expect(try client.readLine() == "holding 3")
        guard let pending = try server.receive(timeout: .seconds(20)) else {
            Issue.record("the last request did not come")
            return
        }
        let total = service.configuration.chunkCount
        // Three responses held by the client, one request held by this server.
        #expect(try service.statistics().freeChunkCount == total - 4)
        try client.kill()
        #expect(try service.cleanDeadPorts() == 1)
        #expect(try service.statistics().freeChunkCount == total - 1)
        // Its slot is free: a response to it goes nowhere.
        #expect(try !server.respond(to: pending, bytes: [1]))
        _ = consume pending
        try expectAllFree(service)
        #expect(try service.statistics().clients.isEmpty)
    }

    @Test("opening with another configuration is a typed error naming both")
    func configurationMismatch() throws {
        let created = RequestResponseConfiguration(requestPayloadByteCount: 64, responsePayloadByteCount: 64)
        let service = try makeService(.posix, created)
        defer { cleanUp(service.address) }
        for change in [
            { (c: inout RequestResponseConfiguration) in c.responsePayloadByteCount = 32 },
            { (c: inout RequestResponseConfiguration) in c.maxServers = 2 },
        ] {
            var asked = created
            change(&asked)
            do {
                _ = try RequestResponseService(openingOrCreating: service.address, configuration: asked)
                Issue.record("opened with another configuration")
            } catch let error as SharedMemoryError {
                #expect(error.code == .layoutMismatch)
                #expect(
                    error.message.contains(created.description) && error.message.contains(asked.description), "\(error)")
            }
        }
        let opened = try RequestResponseService(opening: service.address)
        #expect(opened.configuration == created)
        // A publish-subscribe service is no request-response service.
        #expect(throws: SharedMemoryError.self) {
            _ = try PublishSubscribeService(opening: service.address)
        }
    }

    @Test("bad configurations and limits are typed errors")
    func limits() throws {
        for bad in [
            RequestResponseConfiguration(requestPayloadByteCount: -1, responsePayloadByteCount: 8),
            RequestResponseConfiguration(requestPayloadByteCount: 8, responsePayloadByteCount: 8, payloadAlignment: 3),
            RequestResponseConfiguration(requestPayloadByteCount: 8, responsePayloadByteCount: 8, maxClients: 40, maxServers: 40),
            RequestResponseConfiguration(requestPayloadByteCount: 8, responsePayloadByteCount: 8, bufferCapacity: 0),
        ] {
            #expect(throws: SharedMemoryError.self) { try bad.validate() }
        }
        let service = try makeService(
            .posix, RequestResponseConfiguration(requestPayloadByteCount: 8, responsePayloadByteCount: 4, maxClients: 1))
        defer { cleanUp(service.address) }
        let client = try Client(service: service)
        #expect(throws: SharedMemoryError.self) { _ = try Client(service: service) }
        let server = try Server(service: service)
        #expect(throws: SharedMemoryError.self) { try client.send(bytes: [UInt8](repeating: 0, count: 9)) }
        #expect(try client.send(bytes: [1, 2, 3]) != nil)
        guard let request = try server.receive() else {
            Issue.record("nothing received")
            return
        }
        #expect(throws: SharedMemoryError.self) { try server.respond(to: request, bytes: [1, 2, 3, 4, 5]) }
        let loan = try server.loan(respondingTo: request)
        #expect(throws: SharedMemoryError.self) { _ = try server.loan(respondingTo: request) }
        _ = consume loan
        _ = consume request
        try expectAllFree(service)
    }
}
