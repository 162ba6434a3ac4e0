import SharedMemory
import Testing

/// A server or a client killed with SIGKILL in the middle of a stream of responses: the other
/// side learns it from the service (no timeout runs out), and every chunk returns to the pool.
@Suite("Request-response port deaths")
struct RequestResponseDeathTests {
    static let configuration = RequestResponseConfiguration(
        requestPayloadByteCount: 64, responsePayloadByteCount: 64, bufferCapacity: 4)

    @Test("a server killed mid-stream: the waiting client gets .peerDied after the responses sent, and no chunk leaks")
    func killedServer() throws {
        let service = try RequestResponseService(
            openingOrCreating: try TestNames.address(.posix, "reqres-death"), configuration: Self.configuration)
        defer { cleanUp(service.address) }
        let server = try ChildProcess.peer("reqres-stream", "\(service.address)", "3")
        #expect(try server.readLine() == "serving")
        let client = try Client(service: service)
        let id = try #require(try client.send(bytes: [7]))
        #expect(try server.readLine() == "streamed 3")
        // The server holds the request and a loaned chunk; three responses wait for this client.
        #expect(try service.statistics().freeChunkCount == Self.configuration.chunkCount - 5)
        try server.kill()
        for reply in 0..<3 {
            guard let response = try client.receive(responseTo: id, timeout: .seconds(20)) else {
                Issue.record("response \(reply) did not come")
                return
            }
            #expect(response.bytes.count >= 8 && response.bytes.loadUnaligned(as: UInt64.self) == UInt64(reply))
        }
        do {
            _ = try client.receive(responseTo: id, timeout: .seconds(20))
            Issue.record("no death reported")
        } catch {
            #expect(error.code == .peerDied, "\(error)")
        }
        let statistics = try service.statistics()
        #expect(statistics.servers.isEmpty, "\(statistics)")
        #expect(statistics.freeChunkCount == statistics.chunkCount, "\(statistics)")
    }

    @Test("a client killed mid-stream: the server waiting for room gives up, and the client's chunks return")
    func killedClient() throws {
        let service = try RequestResponseService(
            openingOrCreating: try TestNames.address(.posix, "reqres-death"), configuration: Self.configuration)
        defer { cleanUp(service.address) }
        let server = try Server(service: service)
        let client = try ChildProcess.peer("reqres-stream-hold", "\(service.address)", "2")
        guard let request = try server.receive(timeout: .seconds(20)) else {
            Issue.record("the request did not come")
            return
        }
        for reply in 0..<2 { #expect(try server.respond(to: request, bytes: [UInt8(reply)], timeout: .seconds(20))) }
        #expect(try client.readLine() == "holding 2")
        // Its queue fills up behind the two it holds.
        for reply in 2..<6 { #expect(try server.respond(to: request, bytes: [UInt8(reply)], timeout: .seconds(20))) }
        #expect(try service.statistics().freeChunkCount == Self.configuration.chunkCount - 7)
        try client.kill()
        // No timeout runs out here: the server waiting for room finds the client dead while it waits.
        #expect(try !server.respond(to: request, bytes: [6], timeout: .seconds(20)))
        _ = consume request
        let statistics = try service.statistics()
        #expect(statistics.clients.isEmpty, "\(statistics)")
        #expect(statistics.freeChunkCount == statistics.chunkCount, "\(statistics)")
    }
}
