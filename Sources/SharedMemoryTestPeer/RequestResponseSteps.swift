import SharedMemory

extension Peer {
    /// Steps on a request-response service (each opens it by address, with the configuration it records):
    ///
    ///   reqres-serve ADDRESS COUNT REPLIES   attach a server, say "serving", answer COUNT requests
    ///                                        (test samples, see `ServiceMessage`) with REPLIES responses
    ///                                        each: response k to request n is sample n * 1000 + k; then
    ///                                        say "served COUNT"
    ///   reqres-request ADDRESS COUNT REPLIES attach a client, send COUNT requests one after another,
    ///                                        check that each gets REPLIES intact responses in order;
    ///                                        say "answered COUNT"
    ///   reqres-hold ADDRESS COUNT            attach a client, send COUNT requests, receive and keep
    ///                                        their responses, send one more request, say "holding COUNT",
    ///                                        wait for a line on stdin
    ///   reqres-stream ADDRESS REPLIES        attach a server, say "serving", receive one request and
    ///                                        answer it with REPLIES responses, loan one more, say
    ///                                        "streamed REPLIES", wait for a line on stdin (a test kills it there)
    ///   reqres-stream-hold ADDRESS KEEP      attach a client, send one request, receive KEEP of its
    ///                                        responses and keep them, say "holding KEEP", wait for a
    ///                                        line on stdin (a test kills it there)
    ///   reqres-example-serve NAME            the server of Docs/RequestResponse.md's example, on the
    ///                                        POSIX service NAME: say "serving" once attached, and
    ///                                        "served COUNT" when a request that is no number came
    /// Every wait is bounded by `ServiceMessage.timeout`.
    static let requestResponseSteps: [String: Step] = [
        "reqres-serve": { peer in
            let service = try RequestResponseService(opening: try peer.nextAddress())
            let count = try peer.nextNumber("count")
            let replies = try peer.nextNumber("replies")
            let server = try Server(service: service)
            say("serving")
            for served in 0..<count {
                guard let request = try server.receive(timeout: ServiceMessage.timeout) else {
                    fail(1, "request \(served) did not come within \(ServiceMessage.timeout)")
                }
                guard let number = ServiceMessage.check(request.bytes) else {
                    fail(1, "request \(served) is \(ServiceMessage.describe(request.bytes))")
                }
                for reply in 0..<replies {
                    let response = try server.loan(respondingTo: request)
                    let size = ServiceMessage.fill(response.payload, number: number * 1000 + reply, maximum: 256)
                    guard try server.send(response, byteCount: size, timeout: ServiceMessage.timeout) else {
                        fail(1, "the response to request \(number) found no client")
                    }
                }
            }
            say("served \(count)")
        },
        "reqres-request": { peer in
            let service = try RequestResponseService(opening: try peer.nextAddress())
            let count = try peer.nextNumber("count")
            let replies = try peer.nextNumber("replies")
            let client = try Client(service: service)
            for number in 0..<count {
                let request = try client.loan()
                let size = ServiceMessage.fill(request.payload, number: number, maximum: 256)
                guard let id = try client.send(request, byteCount: size, timeout: ServiceMessage.timeout) else {
                    fail(1, "request \(number) waited \(ServiceMessage.timeout) for room")
                }
                for reply in 0..<replies {
                    guard let response = try client.receive(responseTo: id, timeout: ServiceMessage.timeout) else {
                        fail(1, "response \(reply) to request \(number) did not come within \(ServiceMessage.timeout)")
                    }
                    guard let got = ServiceMessage.check(response.bytes), got == number * 1000 + reply else {
                        fail(1, "expected response \(number * 1000 + reply), got \(ServiceMessage.describe(response.bytes))")
                    }
                }
            }
            say("answered \(count)")
        },
        "reqres-hold": { peer in
            let service = try RequestResponseService(opening: try peer.nextAddress())
            let count = try peer.nextNumber("count")
            let client = try Client(service: service)
            var held: [Held<ReceivedResponse>] = []
            for number in 0..<count {
                guard let id = try client.send(bytes: ServiceMessage.bytes(number), timeout: ServiceMessage.timeout),
                    let response = try client.receive(responseTo: id, timeout: ServiceMessage.timeout)
                else { fail(1, "request \(number) got no response within \(ServiceMessage.timeout)") }
                held.append(Held(response))
            }
            guard try client.send(bytes: ServiceMessage.bytes(count), timeout: ServiceMessage.timeout) != nil else {
                fail(1, "the last request waited \(ServiceMessage.timeout) for room")
            }
            say("holding \(held.count)")
            _ = Swift.readLine()
        },
        "reqres-stream": { peer in
            let service = try RequestResponseService(opening: try peer.nextAddress())
            let replies = try peer.nextNumber("replies")
            let server = try Server(service: service)
            say("serving")
            guard let request = try server.receive(timeout: ServiceMessage.timeout) else {
                fail(1, "no request within \(ServiceMessage.timeout)")
            }
            for reply in 0..<replies {
                guard try server.respond(to: request, bytes: ServiceMessage.bytes(reply), timeout: ServiceMessage.timeout)
                else { fail(1, "response \(reply) found no client") }
            }
            let loan = try server.loan(respondingTo: request)
            say("streamed \(replies)")
            _ = Swift.readLine()
            _ = consume loan
        },
        "reqres-stream-hold": { peer in
            let service = try RequestResponseService(opening: try peer.nextAddress())
            let keep = try peer.nextNumber("keep")
            let client = try Client(service: service)
            guard let id = try client.send(bytes: ServiceMessage.bytes(0), timeout: ServiceMessage.timeout) else {
                fail(1, "the request waited \(ServiceMessage.timeout) for room")
            }
            var held: [Held<ReceivedResponse>] = []
            for reply in 0..<keep {
                guard let response = try client.receive(responseTo: id, timeout: ServiceMessage.timeout) else {
                    fail(1, "response \(reply) did not come within \(ServiceMessage.timeout)")
                }
                held.append(Held(response))
            }
            say("holding \(held.count)")
            _ = Swift.readLine()
        },
        "reqres-example-serve": { peer in
            let name = try peer.next("name")
            // RequestResponse example: server begins
            let address = try SharedRegionBackend.posix.address(forName: name)
            let service = try RequestResponseService(
                openingOrCreating: address,
                configuration: RequestResponseConfiguration(requestPayloadByteCount: 8, responsePayloadByteCount: 8))
            let server = try Server(service: service)
            // RequestResponse example: server ends
            say("serving")
            // RequestResponse example: server loop begins
            var served = 0
            while let request = try server.receive(timeout: .seconds(10)), request.bytes.count == 8 {
                let number = request.bytes.loadUnaligned(as: Int64.self)
                for divisor: Int64 in [2, 3, 5] where number % divisor == 0 {  // one response per divisor
                    let response = try server.loan(respondingTo: request)  // a chunk of the pool, written in place
                    response.payload.storeBytes(of: divisor, as: Int64.self)
                    try server.send(response, byteCount: 8, timeout: .seconds(10))
                }
                try server.respond(to: request, bytes: Array("done".utf8), timeout: .seconds(10))
                served += 1
            }
            // RequestResponse example: server loop ends
            say("served \(served)")
        },
    ]
}

extension ServiceMessage {
    /// Test sample `number` as bytes, at most `maximum` of them.
    static func bytes(_ number: Int, maximum: Int = 64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maximum)
        let size = bytes.withUnsafeMutableBytes { fill($0, number: number, maximum: maximum) }
        return Array(bytes[..<size])
    }
}
