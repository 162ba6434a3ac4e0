import CReference
import SharedMemory

extension ComparisonRun {
    static let ringCapacity = 1 << 18

    /// Messages per second between two processes, copied in by the producer and out by the
    /// consumer: `SPSCRing` blocking (`send`/`receive`) and polling (`trySend`/`tryReceive`),
    /// each beside its C twin (`cref_ring.h`, the same protocol) and the limit (the fastest plain
    /// C ring, `limit_ring.c`), with a pipe and a Unix socket pair as baselines; all seven
    /// alternating within each round.
    func ringThroughput() throws -> [ComparisonResult] {
        var results: [ComparisonResult] = []
        for (size, messages) in [(64, 2_000_000), (4096, 200_000)] {
            try cleanUp.checkpoint()
            let count = options.quick ? messages / 10 : messages
            let label = size == 64 ? "64 B" : "4 KiB"
            let capacity = Self.ringCapacity
            let parent = parentCPU, child = childCPU
            func c(_ function: String, _ body: @escaping (UnsafeMutablePointer<UInt64>) -> Int32) -> () throws -> UInt64 {
                { try self.cSamples(function, count: 1, body)[0] }
            }
            let samples = try alternating(
                rounds: options.quick ? 2 : 5,
                [
                    { try self.swiftRingTransfer(size: size, messages: count, polling: false) },
                    c("cref_ring_throughput") { cref_ring_throughput(size, Int32(count), capacity, 0, parent, child, $0) },
                    { try self.swiftRingTransfer(size: size, messages: count, polling: true) },
                    c("cref_ring_throughput") { cref_ring_throughput(size, Int32(count), capacity, 1, parent, child, $0) },
                    c("cref_limit_ring_throughput") {
                        cref_limit_ring_throughput(size, Int32(count), capacity, parent, child, $0)
                    },
                    c("cref_stream_throughput") { cref_stream_throughput(Int32(CREF_PIPE.rawValue), size, Int32(count), parent, child, $0) },
                    c("cref_stream_throughput") {
                        cref_stream_throughput(Int32(CREF_SOCKETPAIR.rawValue), size, Int32(count), parent, child, $0)
                    },
                ])
            let rate: (UInt64) -> Double = { Double(count) / Double($0) * 1000 }  // million messages per second
            let rates = samples.map { $0.map(rate) }
            let limitRate = Statistics.median(rates[4])
            func row(_ mechanism: String, _ metric: String, _ index: Int, reference: Int? = nil, againstLimit: Bool = true)
                -> ComparisonResult
            {
                let median = Statistics.median(rates[index])
                let referenceMedian = reference.map { Statistics.median(rates[$0]) }
                return ComparisonResult(
                    section: "ring throughput", mechanism: mechanism, metric: metric, unit: "M msg/s", higherIsBetter: true,
                    median: median, p99: Statistics.tail(rates[index], higherIsBetter: true),
                    referenceMedian: referenceMedian, ratio: referenceMedian.map { median / $0 },
                    limitMedian: againstLimit ? limitRate : nil, limitRatio: againstLimit ? median / limitRate : nil)
            }
            results += [
                row("spsc ring", "\(label) send/receive", 0, reference: 1),
                row("spsc ring", "\(label) trySend/tryReceive", 2, reference: 3),
                row("limit ring", "\(label) messages (C)", 4, againstLimit: false),
                row("pipe", "\(label) messages (C)", 5),
                row("unix socket pair", "\(label) messages (C)", 6),
            ]
        }
        return results
    }

    /// One transfer of `messages` messages; the nanoseconds from the first send to the
    /// consumer's last receive.
    private func swiftRingTransfer(size: Int, messages: Int, polling: Bool) throws -> UInt64 {
        let mode = polling ? "poll" : "block"
        let (region, peer) = try ringWithPeer(["ring-consume", "\(messages)", "\(size)", mode])
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region)
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { message.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0x5A)
        let start = cref_now_ns()
        if polling {
            for _ in 0..<messages {
                var tries = 0
                while try !producer.trySend(UnsafeRawBufferPointer(message)) {
                    tries += 1
                    if tries & 0xFFFFF == 0, peer.hasEnded { break }  // finish() below says why
                }
            }
        } else {
            for _ in 0..<messages { _ = try producer.send(UnsafeRawBufferPointer(message)) }
        }
        try peer.finish()
        return try region.load(UInt64.self, at: Self.resultOffset) - start
    }

    /// Zero-copy hand-over: the payload is written in place before the clock starts; what is
    /// timed is publish-to-receive, which must not grow with the payload.
    func handover() throws -> [ComparisonResult] {
        try [64, 64 << 10].map { size in
            try cleanUp.checkpoint()
            return try compare(
                section: "zero-copy hand-over", mechanism: "spsc ring", metric: size == 64 ? "64 B payload" : "64 KiB payload",
                unit: "µs", iterations: iterations(20_000), value: { Double($0) / 1000 },
                swift: { count in try swiftHandover(size: size, count: count) },
                c: { count in
                    try self.cSamples("cref_handover_latency", count: count) {
                        cref_handover_latency(size, Int32(count), self.parentCPU, self.childCPU, $0)
                    }
                })
        }
    }

    private func swiftHandover(size: Int, count: Int) throws -> [UInt64] {
        let (region, peer) = try ringWithPeer(["handover", "\(count)"])
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region)
        let seen = try SharedAtomic<UInt64>(in: region, at: Self.resultOffset + 8)
        var samples = [UInt64](repeating: 0, count: count)
        for index in 0..<count {
            guard let slot = try producer.reserve(size) else { throw ComparisonError("the hand-over ring is full") }
            slot.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index))
            let start = cref_now_ns()
            producer.publish()
            while seen.withAtomic({ $0.load(ordering: .acquiring) }) != UInt64(index + 1) {}
            samples[index] = try region.load(UInt64.self, at: Self.resultOffset) - start
        }
        try peer.finish()
        return samples
    }

    /// Where the consumer leaves its clock readings: the cache line after the ring.
    static var resultOffset: Int { SPSCRing.byteCount(capacity: ringCapacity) }

    /// A fresh region holding a ring and a result line, and a peer attached to it as consumer.
    private func ringWithPeer(_ role: [String]) throws -> (any SharedRegion, PeerProcess) {
        let address = try target(.posix, uniqueName("ring")).address
        var regionOptions = SharedRegionOptions()
        regionOptions.prefault = true
        let region = try SharedRegions.open(address, size: Self.resultOffset + 64, mode: .create, options: regionOptions)
        do {
            try SPSCRing.initialize(in: region, capacity: Self.ringCapacity)
            return (region, try startPeer([role[0], address.description] + role.dropFirst()))
        } catch {
            try? region.remove()
            throw error
        }
    }
}
