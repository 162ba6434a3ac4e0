import SharedMemory

extension Peer {
    /// Steps that wait on several ports at once:
    ///
    ///   waitset-wait PUBSUB EVENTS ROUNDS   attach a subscriber to the publish-subscribe service PUBSUB
    ///                                       and a listener to the event service EVENTS, put both in a
    ///                                       `WaitSet`, say "attached"; ROUNDS times wait (bounded) and
    ///                                       say what was ready, one line: "subscriber BYTES..." with the
    ///                                       first byte of each sample received, and/or "listener IDS..."
    static let waitSetSteps: [String: Step] = [
        "waitset-wait": { peer in
            let service = try PublishSubscribeService(opening: peer.nextAddress("pubsub address"))
            let events = try EventService(opening: peer.nextAddress("events address"))
            let rounds = try peer.nextNumber("rounds")
            let subscriber = try Subscriber(service: service)
            let listener = try Listener(service: events)
            let waitSet = WaitSet()
            let samples = waitSet.add(subscriber)
            let fired = waitSet.add(listener)
            say("attached")
            for round in 0..<rounds {
                let ready = try waitSet.wait(timeout: EventTimeout.wait)
                guard !ready.isEmpty else { fail(1, "round \(round): nothing ready within \(EventTimeout.wait)") }
                var words: [String] = []
                if ready.contains(samples) {
                    words.append("subscriber")
                    while let sample = try subscriber.receive() { words.append("\(sample.bytes.first ?? 0)") }
                }
                if ready.contains(fired) {
                    words.append("listener")
                    words += try listener.tryWait().eventIDs.map { "\($0)" }
                }
                say(words.joined(separator: " "))
            }
        },
    ]
}
