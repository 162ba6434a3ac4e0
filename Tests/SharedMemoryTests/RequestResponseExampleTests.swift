import Foundation
import SharedMemory
import Testing

/// Docs/RequestResponse.md's example, compiled and run: the client here, the server in the test
/// peer (SharedMemoryTestPeer's `reqres-example-serve`); a test checks that the page shows
/// exactly these lines.
@Suite("Request-response example")
struct RequestResponseExampleTests {
    func ask(name: String) throws -> [Int64: [Int64]] {
        // RequestResponse example: client begins
        let address = try SharedRegionBackend.posix.address(forName: name)
        let service = try RequestResponseService(
            openingOrCreating: address,
            configuration: RequestResponseConfiguration(requestPayloadByteCount: 8, responsePayloadByteCount: 8))
        let client = try Client(service: service)
        var divisors: [Int64: [Int64]] = [:]
        for number: Int64 in [6, 10, 7] {
            let request = try client.loan()  // a chunk of the pool, written in place
            request.payload.storeBytes(of: number, as: Int64.self)
            guard let id = try client.send(request, byteCount: 8, timeout: .seconds(10)) else { break }
            // The server's responses to this request, until its "done".
            while let response = try client.receive(responseTo: id, timeout: .seconds(10)), response.bytes.count == 8 {
                divisors[number, default: []].append(response.bytes.loadUnaligned(as: Int64.self))
            }
        }
        try client.send(bytes: Array("end".utf8))  // no number: the server stops
        // RequestResponse example: client ends
        return divisors
    }

    @Test("the example's client gets every divisor from the server process, each request's responses in order")
    func exampleRuns() throws {
        let name = TestNames.unique("divisors")
        defer { cleanUp(try! SharedRegionBackend.posix.address(forName: name)) }
        let server = try ChildProcess.peer("reqres-example-serve", name)
        #expect(try server.readLine() == "serving")
        #expect(try ask(name: name) == [6: [2, 3], 10: [2, 5]])
        #expect(try server.readLine() == "served 3")
        try server.expectSuccess()
    }

    @Test("Docs/RequestResponse.md shows the example exactly")
    func pageShowsExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("Docs/RequestResponse.md"), encoding: .utf8)
        for (file, part) in [
            ("Tests/SharedMemoryTests/RequestResponseExampleTests.swift", "client"),
            ("Sources/SharedMemoryTestPeer/RequestResponseSteps.swift", "server"),
            ("Sources/SharedMemoryTestPeer/RequestResponseSteps.swift", "server loop"),
        ] {
            let lines = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8).components(separatedBy: "\n")
            let begin = try #require(lines.firstIndex { $0.hasSuffix("// RequestResponse example: \(part) begins") })
            let end = try #require(lines.firstIndex { $0.hasSuffix("// RequestResponse example: \(part) ends") })
            let indent = lines[begin].prefix { $0 == " " }.count
            let snippet = lines[(begin + 1)..<end].map { String($0.dropFirst(indent)) }.joined(separator: "\n")
            #expect(page.contains(snippet.replacingOccurrences(of: "forName: name", with: "forName: \"divisors\"")), "\(part)")
        }
    }
}
