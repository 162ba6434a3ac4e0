import SharedMemory

extension Peer {
    /// Steps on an event service (each opens it by address, with the configuration it records,
    /// except `event-create`):
    ///
    ///   event-listen ADDRESS COUNT              attach a listener, say "attached INDEX", wait until
    ///                                           every id 0 ..< COUNT fired (failing on any other id
    ///                                           or on one seen twice without being notified twice),
    ///                                           say "seen COUNT"
    ///   event-notify ADDRESS FIRST COUNT        attach a notifier, notify ids FIRST ..< FIRST + COUNT,
    ///                                           say "notified COUNT"
    ///   event-pingpong ADDRESS ROUNDS           attach a listener and a notifier, say "attached";
    ///                                           ROUNDS times wait for id 1 (ignoring others), then notify id 2; say "done ROUNDS"
    ///   event-create ADDRESS N L E              open or create a service with N notifiers, L listeners
    ///                                           and largest id E; say "opened" or "error:CODE MESSAGE"
    ///   event-attach ADDRESS notifier|listener  attach one port; say "attached" or "error:CODE"
    /// Every wait is bounded by `EventTimeout.wait`; going past it fails the step.
    static let eventSteps: [String: Step] = [
        "event-listen": { peer in
            let service = try EventService(opening: peer.nextAddress("address"))
            let count = try peer.nextNumber("count")
            let listener = try Listener(service: service)
            say("attached \(listener.index)")
            var seen = Set<Int>()
            while seen.count < count {
                let fired = try listener.wait(timeout: EventTimeout.wait)
                guard !fired.isEmpty else { fail(1, "nothing fired within \(EventTimeout.wait); seen \(seen.sorted())") }
                for id in fired.eventIDs {
                    guard id < count, seen.insert(id).inserted else { fail(1, "unexpected id \(id); seen \(seen.sorted())") }
                }
            }
            say("seen \(count)")
        },
        "event-notify": { peer in
            let service = try EventService(opening: peer.nextAddress("address"))
            let first = try peer.nextNumber("first")
            let count = try peer.nextNumber("count")
            let notifier = try Notifier(service: service)
            for id in first..<first + count { try notifier.notify(id) }
            say("notified \(count)")
        },
        "event-pingpong": { peer in
            let service = try EventService(opening: peer.nextAddress("address"))
            let rounds = try peer.nextNumber("rounds")
            let listener = try Listener(service: service)
            let notifier = try Notifier(service: service)
            say("attached")
            for round in 0..<rounds {
                while true {
                    let fired = try listener.wait(timeout: EventTimeout.wait)
                    guard !fired.isEmpty else { fail(1, "round \(round): no ping within \(EventTimeout.wait)") }
                    // Its own id 2 comes back too (every listener hears every notifier).
                    if fired.eventIDs.contains(1) { break }
                }
                try notifier.notify(2)
            }
            say("done \(rounds)")
        },
        "event-create": { peer in
            let address = try peer.nextAddress("address")
            let configuration = EventConfiguration(
                maxNotifiers: try peer.nextNumber("notifiers"), maxListeners: try peer.nextNumber("listeners"),
                maxEventID: try peer.nextNumber("largest id"))
            do {
                _ = try EventService(openingOrCreating: address, configuration: configuration)
                say("opened")
            } catch let error as SharedMemoryError {
                say("error:\(error.code) \(error.message)")
            }
        },
        "event-attach": { peer in
            let service = try EventService(opening: peer.nextAddress("address"))
            let kind = try peer.next("kind")
            do throws(SharedMemoryError) {
                if kind == "notifier" { _ = try Notifier(service: service) } else { _ = try Listener(service: service) }
                say("attached")
            } catch {
                say("error:\(error.code)")
            }
        },
    ]
}

enum EventTimeout {
    static let wait = Duration.seconds(20)
}
