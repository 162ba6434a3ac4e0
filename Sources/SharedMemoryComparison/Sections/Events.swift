import CReference
import SharedMemory

extension ComparisonRun {
    /// An event's round trip: a `Notifier` here signals a `Listener` in the peer, whose notifier
    /// signals back a listener here, both sides sleeping in `Listener.wait`; against C's futex
    /// round trip (`cref_round_trip`), alternating in the same rounds.
    func events() throws -> [ComparisonResult] {
        try cleanUp.checkpoint()
        var result = try compare(
            section: "events", mechanism: "event service", metric: "event round trip (reference: C futex round trip)",
            unit: "µs", iterations: iterations(40_000), value: { Double($0) / 1000 },
            swift: { count in try eventRoundTrip(count) },
            c: { count in
                try self.cSamples("cref_round_trip", count: count) {
                    cref_round_trip(Int32(CREF_FUTEX.rawValue), Int32(count), self.parentCPU, self.childCPU, $0)
                }
            })
        result.target = 1.1
        result.targetMet = result.ratio.map { $0 <= 1.1 }
        return [result]
    }

    /// `count` round trips (after a tenth as many to warm up) through two event services: "ping"
    /// from here to the peer, "pong" back.
    private func eventRoundTrip(_ count: Int) throws -> [UInt64] {
        let warmUp = count / 10
        let total = warmUp + count
        let configuration = EventConfiguration(maxNotifiers: 1, maxListeners: 1, maxEventID: 63)
        let ping = try EventService(
            openingOrCreating: try target(.posix, uniqueName("ping")).address, configuration: configuration)
        defer { try? ping.region.remove() }
        let pong = try EventService(
            openingOrCreating: try target(.posix, uniqueName("pong")).address, configuration: configuration)
        defer { try? pong.region.remove() }
        let listener = try Listener(service: pong)
        let notifier = try Notifier(service: ping)
        let peer = try startPeer(["event-echo", "\(ping.address)", "\(pong.address)", "\(total)"])
        var samples = [UInt64](repeating: 0, count: count)
        for index in 0..<total {
            let start = cref_now_ns()
            try notifier.notify(0)
            // The peer's notifier attaching is a port change: wait on until the id itself fired.
            while try listener.wait(timeout: nil).eventIDs.isEmpty {}
            if index >= warmUp { samples[index - warmUp] = cref_now_ns() - start }
        }
        try peer.finish()
        return samples
    }
}
