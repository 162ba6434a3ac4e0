#if canImport(Glibc)
import Glibc
#endif
import CReference
import SharedMemory
import Synchronization

extension ComparisonRun {
    /// Publish-subscribe against the ring, in the same rounds: 64 B messages per second from one
    /// publisher to one subscriber process against `SPSCRing`'s blocking send/receive, to four
    /// subscriber processes against one (the slowest subscriber's rate), and the zero-copy hand-over
    /// (publish to receive) at 64 B against the ring's and at 64 KiB against 64 B. Each row
    /// carries the target for its ratio. The services live in System V segments, as the
    /// ring does.
    func publishSubscribe() throws -> [ComparisonResult] {
        let section = "publish-subscribe"
        let messages = options.quick ? 100_000 : 1_000_000
        let rounds = options.quick ? 2 : 5
        var ring: [UInt64] = []
        var single: [UInt64] = []
        var fanOut: [UInt64] = []
        for round in 0..<rounds {
            try cleanUp.checkpoint()
            let contenders: [() throws -> Void] = [
                {
                    ring.append(
                        try self.swiftRingTransfer(size: 64, messages: messages, capacity: Self.ringCapacity, polling: false).elapsed)
                },
                { single.append(try self.publishSubscribeTransfer(messages: messages, subscribers: 1).max()!) },
                { fanOut.append(try self.publishSubscribeTransfer(messages: messages, subscribers: 4).max()!) },
            ]
            for step in contenders.indices { try contenders[(round + step) % contenders.count]() }
        }
        let rate = { (elapsed: UInt64) in Double(messages) / Double(elapsed) * 1000 }  // million messages per second
        var results = [
            ratioRow(
                section, "1 -> 1 64 B messages (reference: spsc ring send/receive)", unit: "M msg/s", higherIsBetter: true,
                single.map(rate), reference: ring.map(rate), target: 0.8),
            ratioRow(
                section, "1 -> 4 64 B messages, slowest subscriber (reference: 1 -> 1)", unit: "M msg/s",
                higherIsBetter: true, fanOut.map(rate), reference: single.map(rate), target: 0.5),
        ]

        let count = iterations(20_000)
        var ringHandover: [UInt64] = []
        var small: [UInt64] = []
        var large: [UInt64] = []
        for round in 0..<4 {
            try cleanUp.checkpoint()
            let perRound = max(count / 4, 1)
            let contenders: [() throws -> Void] = [
                { ringHandover += try self.swiftHandover(size: 64, count: perRound) },
                { small += try self.publishSubscribeHandover(size: 64, count: perRound) },
                { large += try self.publishSubscribeHandover(size: 64 << 10, count: perRound) },
            ]
            for step in contenders.indices { try contenders[(round + step) % contenders.count]() }
        }
        let micro = { (nanoseconds: UInt64) in Double(nanoseconds) / 1000 }
        results += [
            ratioRow(
                section, "64 B hand-over (reference: spsc ring hand-over)", unit: "µs", higherIsBetter: false,
                small.map(micro), reference: ringHandover.map(micro), target: 1.2),
            ratioRow(
                section, "64 KiB hand-over (reference: 64 B hand-over)", unit: "µs", higherIsBetter: false,
                large.map(micro), reference: small.map(micro), target: 1.2),
        ]
        return results
    }

    /// A row of `values` against `reference` from the same rounds, with the target for the ratio.
    func ratioRow(
        _ section: String, _ metric: String, mechanism: String = "publish-subscribe", unit: String, higherIsBetter: Bool,
        _ values: [Double], reference: [Double], target: Double
    ) -> ComparisonResult {
        let median = Statistics.median(values)
        let referenceMedian = Statistics.median(reference)
        let ratio = median / referenceMedian
        return ComparisonResult(
            section: section, mechanism: mechanism, metric: metric, unit: unit, higherIsBetter: higherIsBetter,
            median: median, p99: Statistics.tail(values, higherIsBetter: higherIsBetter),
            referenceMedian: referenceMedian, ratio: ratio, target: target,
            targetMet: higherIsBetter ? ratio >= target : ratio <= target)
    }

    /// A fresh service in a System V segment for one publisher and `subscribers` subscribers, and
    /// a page for the subscribers' clock readings.
    private func publishSubscribeService(size: Int, subscribers: Int, buffer: Int) throws -> (
        service: PublishSubscribeService, results: any SharedRegion
    ) {
        var regionOptions = SharedRegionOptions()
        regionOptions.prefault = true
        let results = try SharedRegions.open(try target(.systemV, uniqueName("results")).address, size: 4096, mode: .create)
        do {
            let configuration = ServiceConfiguration(
                payloadByteCount: size, maxPublishers: 1, maxSubscribers: subscribers, subscriberBufferCapacity: buffer)
            let service = try PublishSubscribeService(
                openingOrCreating: try target(.systemV, uniqueName("pubsub")).address, configuration: configuration,
                options: regionOptions)
            return (service, results)
        } catch {
            try? results.remove()
            throw error
        }
    }

    /// Where subscriber `slot` leaves the time of its last receive.
    static func subscriberEndOffset(_ slot: Int) -> Int { 64 + 8 * slot }

    /// One transfer of `messages` 64 B samples, each copied into a loaned chunk and sent to
    /// `subscribers` subscriber processes (each on a CPU of its own where there are enough, else
    /// sharing the child's); the nanoseconds from the first send to each subscriber's last receive.
    private func publishSubscribeTransfer(messages: Int, subscribers: Int) throws -> [UInt64] {
        // As many samples queued per subscriber as the ring holds 64 B messages.
        let (service, results) = try publishSubscribeService(size: 64, subscribers: subscribers, buffer: 4096)
        defer {
            try? service.region.remove()
            try? results.remove()
        }
        let publisher = try Publisher(service: service)
        var peers: [PeerProcess] = []
        for slot in 0..<subscribers {
            let cpu = cpus.count >= 2 ? cpus[1 + slot % (cpus.count - 1)] : -1
            peers.append(
                try PeerProcess(
                    options.peerCommand,
                    ["pubsub-receive", "\(service.address)", "\(results.address)", "\(messages)", "\(slot)", "block", "\(cpu)"]))
        }
        if parentCPU >= 0 { _ = cref_pin_to_cpu(parentCPU) }
        for peer in peers { try peer.waitUntilReady() }
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { message.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0x5A)
        let start = cref_now_ns()
        for _ in 0..<messages {
            let sample = try publisher.loan()
            sample.payload.copyMemory(from: UnsafeRawBufferPointer(message))
            try publisher.send(sample, byteCount: 64)
        }
        for peer in peers { try peer.finish() }
        return try (0..<subscribers).map { try results.load(UInt64.self, at: Self.subscriberEndOffset($0)) - start }
    }

    /// `count` hand-overs of a `size`-byte sample written in place before the clock starts (the
    /// writes drained by a full fence, as the ring's hand-over does); one sample is the time from
    /// `send` to the subscriber's (polling) receive.
    private func publishSubscribeHandover(size: Int, count: Int) throws -> [UInt64] {
        let (service, results) = try publishSubscribeService(size: size, subscribers: 1, buffer: 16)
        defer {
            try? service.region.remove()
            try? results.remove()
        }
        let publisher = try Publisher(service: service)
        let seen = try SharedAtomic<UInt64>(in: results, at: 8)
        let peer = try startPeer(["pubsub-receive", "\(service.address)", "\(results.address)", "\(count)", "0", "handover"])
        var samples = [UInt64](repeating: 0, count: count)
        for index in 0..<count {
            let sample = try publisher.loan()
            sample.payload.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index))
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            let start = cref_now_ns()
            try publisher.send(sample, byteCount: size)
            while seen.withAtomic({ $0.load(ordering: .acquiring) }) != UInt64(index + 1) {}
            samples[index] = try results.load(UInt64.self, at: 0) - start
        }
        try peer.finish()
        return samples
    }
}
