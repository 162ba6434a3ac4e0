import SharedMemory

extension Peer {
    /// Steps on a publish-subscribe service (each opens it by address, with the configuration it records):
    ///
    ///   pubsub-publish ADDRESS COUNT MAXSIZE     attach a publisher, send COUNT test samples
    ///                                            (see `ServiceMessage`), say "sent COUNT"
    ///   pubsub-publish-hold ADDRESS COUNT MAXSIZE as pubsub-publish, then stays attached: waits for a
    ///                                            line on stdin (a test kills it there)
    ///   pubsub-subscribe ADDRESS FIRST COUNT     attach a subscriber, say "attached", receive and
    ///                                            check samples FIRST ..< FIRST + COUNT in order, then
    ///                                            say "received COUNT"
    ///   pubsub-receive-increasing ADDRESS LAST   attach, say "attached", wait for a line on stdin,
    ///                                            then receive intact samples of increasing number until
    ///                                            number LAST; say "received N"
    ///   pubsub-hold ADDRESS COUNT                attach, say "attached", receive COUNT samples and keep
    ///                                            them, say "holding COUNT", wait for a line on stdin
    ///   pubsub-stat ADDRESS                      say "publishers P subscribers S free F of C"
    ///   pubsub-example-subscribe NAME            the subscriber of Docs/PublishSubscribe.md's example, on
    ///                                            the POSIX service NAME; say "readings COUNT, last VALUE"
    /// Every wait is bounded by `ServiceMessage.timeout`.
    static let publishSubscribeSteps: [String: Step] = [
        "pubsub-publish": { peer in
            let service = try PublishSubscribeService(opening: try peer.nextAddress())
            let count = try peer.nextNumber("count")
            let maximum = try peer.nextNumber("maximum size")
            let publisher = try Publisher(service: service)
            for number in 0..<count {
                let sample = try publisher.loan()
                let size = ServiceMessage.fill(sample.payload, number: number, maximum: maximum)
                guard try publisher.send(sample, byteCount: size, timeout: ServiceMessage.timeout) else {
                    fail(1, "sample \(number) waited \(ServiceMessage.timeout) for room")
                }
            }
            say("sent \(count)")
        },
        "pubsub-publish-hold": { peer in
            let service = try PublishSubscribeService(opening: try peer.nextAddress())
            let count = try peer.nextNumber("count")
            let maximum = try peer.nextNumber("maximum size")
            let publisher = try Publisher(service: service)
            for number in 0..<count {
                let sample = try publisher.loan()
                let size = ServiceMessage.fill(sample.payload, number: number, maximum: maximum)
                guard try publisher.send(sample, byteCount: size, timeout: ServiceMessage.timeout) else {
                    fail(1, "sample \(number) waited \(ServiceMessage.timeout) for room")
                }
            }
            say("sent \(count)")
            _ = Swift.readLine()
            withExtendedLifetime(publisher) {}
        },
        "pubsub-subscribe": { peer in
            let service = try PublishSubscribeService(opening: try peer.nextAddress())
            let first = try peer.nextNumber("first")
            let count = try peer.nextNumber("count")
            let subscriber = try Subscriber(service: service)
            say("attached")
            for number in first..<first + count {
                guard let sample = try subscriber.receive(timeout: ServiceMessage.timeout) else {
                    fail(1, "sample \(number) did not come within \(ServiceMessage.timeout)")
                }
                guard let got = ServiceMessage.check(sample.bytes), got == number else {
                    fail(1, "expected sample \(number), got \(ServiceMessage.describe(sample.bytes))")
                }
            }
            say("received \(count)")
        },
        "pubsub-receive-increasing": { peer in
            let service = try PublishSubscribeService(opening: try peer.nextAddress())
            let last = try peer.nextNumber("last")
            let subscriber = try Subscriber(service: service)
            say("attached")
            _ = Swift.readLine()
            var previous = -1
            var received = 0
            while previous < last {
                guard let sample = try subscriber.receive(timeout: ServiceMessage.timeout) else {
                    fail(1, "no sample within \(ServiceMessage.timeout) after \(previous)")
                }
                guard let number = ServiceMessage.check(sample.bytes), number > previous else {
                    fail(1, "after \(previous) got \(ServiceMessage.describe(sample.bytes))")
                }
                previous = number
                received += 1
            }
            say("received \(received)")
        },
        "pubsub-hold": { peer in
            let service = try PublishSubscribeService(opening: try peer.nextAddress())
            let count = try peer.nextNumber("count")
            let subscriber = try Subscriber(service: service)
            say("attached")
            var held: [Held<ReceivedSample>] = []
            for _ in 0..<count {
                guard let sample = try subscriber.receive(timeout: ServiceMessage.timeout) else {
                    fail(1, "no sample within \(ServiceMessage.timeout)")
                }
                held.append(Held(sample))
            }
            say("holding \(held.count)")
            _ = Swift.readLine()
        },
        "pubsub-example-subscribe": { peer in
            let name = try peer.next("name")
            // PublishSubscribe example: subscriber begins
            let address = try SharedRegionBackend.posix.address(forName: name)
            let service = try PublishSubscribeService(
                openingOrCreating: address,
                configuration: ServiceConfiguration(
                    payloadByteCount: 64, maxSubscribers: 4, subscriberBufferCapacity: 128, historyCapacity: 128))
            let subscriber = try Subscriber(service: service)
            var readings: [Double] = []
            while let sample = try subscriber.receive(timeout: .seconds(10)), sample.bytes.count == 8 {
                readings.append(sample.bytes.loadUnaligned(as: Double.self))
            }
            // PublishSubscribe example: subscriber ends
            say("readings \(readings.count), last \(readings.last ?? 0)")
        },
        "pubsub-stat": { peer in
            let service = try PublishSubscribeService(opening: try peer.nextAddress())
            let statistics = try service.statistics()
            say(
                "publishers \(statistics.publishers.count) subscribers \(statistics.subscribers.count) "
                    + "free \(statistics.freeChunkCount) of \(statistics.chunkCount)")
        },
    ]
}

/// A received sample or response kept alive in a collection (they are noncopyable).
final class Held<Value: ~Copyable> {
    let value: Value
    init(_ value: consuming Value) { self.value = value }
}

extension Peer {
    /// The next argument, a service's address.
    mutating func nextAddress(_ what: String = "address") throws -> RegionAddress {
        try RegionAddress(parsing: try next(what))
    }
}

/// The test samples: an 8-byte number, then bytes derived from it, of a length that cycles with
/// it, so that loss, duplication, reordering or a torn write shows.
enum ServiceMessage {
    static let timeout = Duration.seconds(20)

    static func size(_ number: Int, maximum: Int) -> Int { 8 + (number &* 7) % (maximum - 7) }

    static func byte(_ number: Int, _ position: Int) -> UInt8 { UInt8(truncatingIfNeeded: number &* 31 &+ position) }

    /// Writes sample `number` into `payload`; its length.
    static func fill(_ payload: UnsafeMutableRawBufferPointer, number: Int, maximum: Int) -> Int {
        let size = size(number, maximum: min(maximum, payload.count))
        payload.storeBytes(of: UInt64(number).littleEndian, as: UInt64.self)
        for position in 8..<size { payload[position] = byte(number, position) }
        return size
    }

    /// The sample's number if it is intact; `nil` if not.
    static func check(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 8 else { return nil }
        let number = Int(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)))
        for position in 8..<bytes.count where bytes[position] != byte(number, position) { return nil }
        return number
    }

    static func describe(_ bytes: UnsafeRawBufferPointer) -> String {
        bytes.count >= 8
            ? "number \(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))) of \(bytes.count) bytes"
                + (check(bytes) == nil ? ", damaged" : "")
            : "\(bytes.count) bytes"
    }
}
