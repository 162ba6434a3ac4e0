import CReference
import SharedMemory
import Synchronization

extension ComparisonRun {
    /// Request-response against the ring, in the same rounds: a 64 B request written in place by a
    /// `Client` here, answered by a `Server` in the peer with a 64 B response written in place,
    /// against two `SPSCRing` hand-overs (a 64 B message reserved and written in place there, and
    /// one back the same way), both sides with their default waits. The service and the rings
    /// live in System V segments; the row carries the target (at most 1.2x).
    func requestResponse() throws -> [ComparisonResult] {
        let count = iterations(20_000)
        var rings: [UInt64] = []
        var services: [UInt64] = []
        let rounds = 4
        for round in 0..<rounds {
            try cleanUp.checkpoint()
            let perRound = max(count / rounds, 1)
            let contenders: [() throws -> Void] = [
                { rings += try self.ringRoundTrip(count: perRound) },
                { services += try self.requestResponseRoundTrip(count: perRound) },
            ]
            for step in contenders.indices { try contenders[(round + step) % contenders.count]() }
        }
        let micro = { (nanoseconds: UInt64) in Double(nanoseconds) / 1000 }
        return [
            ratioRow(
                "request-response", "64 B request, 64 B response round trip (reference: two spsc ring hand-overs)",
                mechanism: "request-response", unit: "µs", higherIsBetter: false, services.map(micro),
                reference: rings.map(micro), target: 1.2)
        ]
    }

    /// The capacity of each ring of the round trip: room for a few messages is all it needs.
    static let echoRingCapacity = 4096

    /// `count` round trips (after a tenth as many to warm up) through two rings in one segment:
    /// a 64 B message written in place into the first, the peer's answer of 64 B read in place
    /// from the second.
    private func ringRoundTrip(count: Int) throws -> [UInt64] {
        let warmUp = count / 10
        let total = warmUp + count
        var regionOptions = SharedRegionOptions()
        regionOptions.prefault = true
        let ringBytes = SPSCRing.byteCount(capacity: Self.echoRingCapacity)
        let region = try SharedRegions.open(
            try target(.systemV, uniqueName("echo")).address, size: 2 * ringBytes, mode: .create, options: regionOptions)
        defer { try? region.remove() }
        try SPSCRing.initialize(in: region, at: 0, capacity: Self.echoRingCapacity)
        try SPSCRing.initialize(in: region, at: ringBytes, capacity: Self.echoRingCapacity)
        var producer = try SPSCRing.Producer(in: region, at: 0)
        var consumer = try SPSCRing.Consumer(in: region, at: ringBytes)
        let peer = try startPeer(["ring-echo", "\(region.address)", "\(total)"])
        var samples = [UInt64](repeating: 0, count: count)
        for index in 0..<total {
            guard let slot = try producer.reserve(64) else { throw ComparisonError("the echo ring is full") }
            slot.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index))
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            let start = cref_now_ns()
            producer.publish()
            var answer = try consumer.peek()
            while answer == nil { answer = try consumer.peek() }
            let end = cref_now_ns()
            consumer.release()
            if index >= warmUp { samples[index - warmUp] = end - start }
        }
        try peer.finish()
        return samples
    }

    /// `count` round trips (after a tenth as many to warm up) through a request-response service
    /// with one client here and one server in the peer.
    private func requestResponseRoundTrip(count: Int) throws -> [UInt64] {
        let warmUp = count / 10
        let total = warmUp + count
        var regionOptions = SharedRegionOptions()
        regionOptions.prefault = true
        let service = try RequestResponseService(
            openingOrCreating: try target(.systemV, uniqueName("reqres")).address,
            configuration: RequestResponseConfiguration(
                requestPayloadByteCount: 64, responsePayloadByteCount: 64, maxClients: 1, maxServers: 1, bufferCapacity: 4),
            options: regionOptions)
        defer { try? service.region.remove() }
        let client = try Client(service: service)
        let peer = try startPeer(["reqres-echo", "\(service.address)", "\(total)"])
        var samples = [UInt64](repeating: 0, count: count)
        for index in 0..<total {
            let request = try client.loan()
            request.payload.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index))
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            let start = cref_now_ns()
            guard let id = try client.send(request, byteCount: 64),
                let response = try client.receive(timeout: .seconds(30)), response.requestID == id
            else { throw ComparisonError("request \(index) got no response within 30 s") }
            let end = cref_now_ns()
            _ = consume response
            if index >= warmUp { samples[index - warmUp] = end - start }
        }
        try peer.finish()
        return samples
    }
}

extension ComparisonPeer {
    /// The other side of `ComparisonRun.ringRoundTrip`: each 64 B message of the first ring is
    /// answered with 64 B written in place into the second.
    static func ringEcho(_ address: RegionAddress, total: Int) throws {
        let region = try SharedRegions.open(address, mode: .open)
        let ringBytes = SPSCRing.byteCount(capacity: ComparisonRun.echoRingCapacity)
        var consumer = try SPSCRing.Consumer(in: region, at: 0)
        var producer = try SPSCRing.Producer(in: region, at: ringBytes)
        ready()
        for _ in 0..<total {
            var message = try consumer.peek()
            while message == nil { message = try consumer.peek() }
            guard let slot = try producer.reserve(64), let bytes = message else {
                throw ComparisonError("the echo ring is full")
            }
            slot.copyMemory(from: bytes)
            consumer.release()
            producer.publish()
        }
    }

    /// The other side of `ComparisonRun.requestResponseRoundTrip`: a server answering each 64 B
    /// request with 64 B written in place.
    static func requestResponseEcho(_ address: RegionAddress, total: Int) throws {
        let server = try Server(service: try RequestResponseService(opening: address))
        ready()
        for index in 0..<total {
            guard let request = try server.receive(timeout: .seconds(30)) else {
                throw ComparisonError("request \(index) of \(total) did not come within 30 s")
            }
            let response = try server.loan(respondingTo: request)
            response.payload.copyMemory(from: request.bytes)
            _ = consume request
            guard try server.send(response, byteCount: 64) else { throw ComparisonError("the client left") }
        }
    }
}
