import SharedMemory

extension Peer {
    /// The far end of a ping-pong through two publish-subscribe services:
    ///
    ///   pubsub-echo IN OUT COUNT   attach a subscriber to IN and a publisher to OUT, say "attached",
    ///                              then COUNT times receive a sample on IN and send its bytes on OUT;
    ///                              say "echoed COUNT". Every wait is bounded by `ServiceMessage.timeout`.
    static let echoSteps: [String: Step] = [
        "pubsub-echo": { peer in
            let input = try PublishSubscribeService(opening: RegionAddress(parsing: try peer.next("input address")))
            let output = try PublishSubscribeService(opening: RegionAddress(parsing: try peer.next("output address")))
            let count = try peer.nextNumber("count")
            let subscriber = try Subscriber(service: input)
            let publisher = try Publisher(service: output)
            say("attached")
            for round in 0..<count {
                guard let sample = try subscriber.receive(timeout: ServiceMessage.timeout) else {
                    fail(1, "round \(round): no sample within \(ServiceMessage.timeout)")
                }
                guard try publisher.send(bytes: sample.bytes, timeout: ServiceMessage.timeout) else {
                    fail(1, "round \(round): waited \(ServiceMessage.timeout) for room")
                }
            }
            say("echoed \(count)")
        },
    ]
}
