import SharedMemory

extension Peer {
    /// The far ends of ping-pongs with a test whose side may wait minutes for a thread of its
    /// cooperative pool (so every wait here is bounded by 300 s):
    ///
    ///   pubsub-echo IN OUT COUNT   attach a subscriber to IN and a publisher to OUT, say "attached",
    ///                              then COUNT times receive a sample on IN and send its bytes on OUT;
    ///                              say "echoed COUNT"
    ///   event-echo ADDRESS COUNT   attach a listener and a notifier to the event service ADDRESS, say
    ///                              "attached", then COUNT times wait until id 1 fired and notify id 2;
    ///                              say "echoed COUNT"
    static let echoSteps: [String: Step] = [
        "pubsub-echo": { peer in
            let input = try PublishSubscribeService(opening: peer.nextAddress("input address"))
            let output = try PublishSubscribeService(opening: peer.nextAddress("output address"))
            let count = try peer.nextNumber("count")
            let timeout = Duration.seconds(300)
            let subscriber = try Subscriber(service: input)
            let publisher = try Publisher(service: output)
            say("attached")
            for round in 0..<count {
                guard let sample = try subscriber.receive(timeout: timeout) else {
                    fail(1, "round \(round): no sample within \(timeout)")
                }
                guard try publisher.send(bytes: sample.bytes, timeout: timeout) else {
                    fail(1, "round \(round): waited \(timeout) for room")
                }
            }
            say("echoed \(count)")
        },
        "event-echo": { peer in
            let service = try EventService(opening: peer.nextAddress("address"))
            let count = try peer.nextNumber("count")
            let timeout = Duration.seconds(300)
            let listener = try Listener(service: service)
            let notifier = try Notifier(service: service)
            say("attached")
            for round in 0..<count {
                while true {
                    let fired = try listener.wait(timeout: timeout)
                    guard !fired.isEmpty else { fail(1, "round \(round): no ping within \(timeout)") }
                    // Its own id 2 comes back too (every listener hears every notifier).
                    if fired.eventIDs.contains(1) { break }
                }
                try notifier.notify(2)
            }
            say("echoed \(count)")
        },
    ]
}
