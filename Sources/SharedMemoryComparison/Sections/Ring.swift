import CReference
import SharedMemory

extension ComparisonRun {
    static let ringCapacity = 1 << 18

    /// Messages per second through `SPSCRing` between two processes, against the C ring and
    /// a pipe: copied in by the producer, copied out by the consumer.
    func ringThroughput() throws -> [ComparisonResult] {
        var results: [ComparisonResult] = []
        for (size, messages) in [(64, 2_000_000), (4096, 200_000)] {
            try cleanUp.checkpoint()
            let count = options.quick ? messages / 10 : messages
            let rate: (UInt64) -> Double = { Double(count) / Double($0) * 1000 }  // million messages per second
            let label = size == 64 ? "64 B" : "4 KiB"
            let rounds = options.quick ? 2 : 4
            results.append(
                try compare(
                    section: "ring throughput", mechanism: "spsc ring", metric: "\(label) messages",
                    unit: "M msg/s", higherIsBetter: true, iterations: rounds, rounds: rounds, value: rate,
                    swift: { runs in try (0..<runs).map { _ in try swiftRingTransfer(size: size, messages: count) } },
                    c: { runs in
                        try (0..<runs).map { _ in
                            try self.cSamples("cref_ring_throughput", count: 1) {
                                cref_ring_throughput(size, Int32(count), Self.ringCapacity, self.parentCPU, self.childCPU, $0)
                            }[0]
                        }
                    }))
            let pipe = try (0..<rounds).map { _ in
                try self.cSamples("cref_pipe_throughput", count: 1) {
                    cref_pipe_throughput(size, Int32(count), self.parentCPU, self.childCPU, $0)
                }[0]
            }
            results.append(
                baseline(
                    section: "ring throughput", mechanism: "pipe", metric: "\(label) messages (C)", unit: "M msg/s",
                    higherIsBetter: true, samples: pipe, value: rate))
        }
        return results
    }

    /// One transfer of `messages` messages; the nanoseconds from the first send to the
    /// consumer's last receive.
    private func swiftRingTransfer(size: Int, messages: Int) throws -> UInt64 {
        let (region, peer) = try ringWithPeer(["ring-consume", "\(messages)", "\(size)"])
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region)
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { message.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0x5A)
        let start = cref_now_ns()
        for _ in 0..<messages { _ = try producer.send(UnsafeRawBufferPointer(message)) }
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
        let region = try SharedMemory.open(address, size: Self.resultOffset + 64, mode: .create, options: regionOptions)
        do {
            try SPSCRing.initialize(in: region, capacity: Self.ringCapacity)
            return (region, try startPeer([role[0], address.description] + role.dropFirst()))
        } catch {
            try? region.remove()
            throw error
        }
    }
}
