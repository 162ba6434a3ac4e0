import CReference
import SharedMemory
import Synchronization

extension ComparisonRun {
    static let ringCapacity = 1 << 18

    /// Messages per second between two processes, copied in by the producer and out by the
    /// consumer: `SPSCRing` blocking (`send`/`receive`) and polling (`trySend`/`tryReceive`),
    /// each beside its C twin (`cref_ring.h`, the same protocol) and the limit (the fastest plain
    /// C ring, `limit_ring.c`), with a pipe and a Unix socket pair as baselines; all eight
    /// alternating within each round. The rings live in a System V segment, which no process can
    /// cut short, as the C rings' anonymous shared mappings; the last contender polls a ring in a
    /// POSIX object, whose copies are guarded against a cut (`SIGBUS`). Then the futex calls the
    /// blocking ring made per 1,000 messages, from its own counters.
    func ringThroughput() throws -> [ComparisonResult] {
        var results: [ComparisonResult] = []
        for (size, messages) in [(64, 2_000_000), (4096, 200_000)] {
            try cleanUp.checkpoint()
            let count = options.quick ? messages / 10 : messages
            let label = Self.sizeLabel(size)
            let capacity = Self.ringCapacity
            var futexCalls: [UInt64] = []
            let samples = try alternating(
                rounds: options.quick ? 2 : 5,
                [
                    {
                        let transfer = try self.swiftRingTransfer(size: size, messages: count, capacity: capacity, polling: false)
                        futexCalls.append(transfer.futexCalls)
                        return transfer.elapsed
                    },
                    cRing(size: size, messages: count, capacity: capacity, polling: false),
                    { try self.swiftRingTransfer(size: size, messages: count, capacity: capacity, polling: true).elapsed },
                    cRing(size: size, messages: count, capacity: capacity, polling: true),
                    limitRing(size: size, messages: count, capacity: capacity),
                    stream(CREF_PIPE, size: size, messages: count),
                    stream(CREF_SOCKETPAIR, size: size, messages: count),
                    {
                        try self.swiftRingTransfer(
                            size: size, messages: count, capacity: capacity, polling: true, backend: .posix
                        ).elapsed
                    },
                ])
            let rates = samples.map { $0.map { Double(count) / Double($0) * 1000 } }  // million messages per second
            let rows = RingRows(section: "ring throughput", unit: "M msg/s", values: rates, limit: 4)
            results += [
                rows.row("spsc ring", "\(label) send/receive", 0, reference: 1),
                rows.row("spsc ring", "\(label) trySend/tryReceive", 2, reference: 3),
                rows.row("spsc ring", "\(label) trySend/tryReceive, posix (guarded copies)", 7, reference: 3),
                rows.row("limit ring", "\(label) messages (C)", 4),
                rows.row("pipe", "\(label) messages (C)", 5),
                rows.row("unix socket pair", "\(label) messages (C)", 6),
                baseline(
                    section: "ring throughput", mechanism: "spsc ring", metric: "\(label) send/receive: futex calls per 1,000 messages",
                    unit: "calls", samples: futexCalls, value: { Double($0) * 1000 / Double(count) }),
            ]
        }
        return results
    }

    /// The size curve: blocking `send`/`receive` through `SPSCRing`, the limit ring, a pipe and a
    /// Unix socket pair, from 8 B to 1 MiB messages, in messages per second and in GB/s. The ring
    /// holds at least four messages (256 KiB, or four times the message rounded up to a power of two).
    func ringSizes() throws -> [ComparisonResult] {
        var results: [ComparisonResult] = []
        for size in [8, 64, 512, 4 << 10, 32 << 10, 256 << 10, 1 << 20] {
            try cleanUp.checkpoint()
            let full = max(256, min(2_000_000, (256 << 20) / size))
            let count = options.quick ? max(full / 10, 64) : full
            var capacity = Self.ringCapacity
            while capacity < 4 * size { capacity *= 2 }
            let samples = try alternating(
                rounds: options.quick ? 2 : 3,
                [
                    { try self.swiftRingTransfer(size: size, messages: count, capacity: capacity, polling: false).elapsed },
                    limitRing(size: size, messages: count, capacity: capacity),
                    stream(CREF_PIPE, size: size, messages: count),
                    stream(CREF_SOCKETPAIR, size: size, messages: count),
                ])
            let label = Self.sizeLabel(size)
            let rates = RingRows(
                section: "ring sizes", unit: "M msg/s", values: samples.map { $0.map { Double(count) / Double($0) * 1000 } },
                limit: 1)
            let bandwidths = RingRows(
                section: "ring sizes", unit: "GB/s", values: samples.map { $0.map { Double(count * size) / Double($0) } },
                limit: 1)
            for (mechanism, index) in [("spsc ring", 0), ("limit ring", 1), ("pipe", 2), ("unix socket pair", 3)] {
                let metric = "\(label) messages" + (index == 0 ? "" : " (C)")
                results += [rates.row(mechanism, metric, index), bandwidths.row(mechanism, metric, index)]
            }
        }
        return results
    }

    static func sizeLabel(_ size: Int) -> String {
        size >= 1 << 20 ? "\(size >> 20) MiB" : size >= 1 << 10 ? "\(size >> 10) KiB" : "\(size) B"
    }

    /// One C measurement as a contender of `alternating`.
    private func c(_ function: String, _ body: @escaping (UnsafeMutablePointer<UInt64>) -> Int32) -> () throws -> UInt64 {
        { try self.cSamples(function, count: 1, body)[0] }
    }

    private func cRing(size: Int, messages: Int, capacity: Int, polling: Bool) -> () throws -> UInt64 {
        let parent = parentCPU, child = childCPU
        return c("cref_ring_throughput") {
            cref_ring_throughput(size, Int32(messages), capacity, polling ? 1 : 0, parent, child, $0)
        }
    }

    private func limitRing(size: Int, messages: Int, capacity: Int) -> () throws -> UInt64 {
        let parent = parentCPU, child = childCPU
        return c("cref_limit_ring_throughput") { cref_limit_ring_throughput(size, Int32(messages), capacity, parent, child, $0) }
    }

    private func stream(_ kind: cref_round_trip, size: Int, messages: Int) -> () throws -> UInt64 {
        let parent = parentCPU, child = childCPU
        return c("cref_stream_throughput") {
            cref_stream_throughput(Int32(kind.rawValue), size, Int32(messages), parent, child, $0)
        }
    }

    /// One transfer of `messages` messages; the nanoseconds from the first send to the
    /// consumer's last receive, and the futex calls both sides made (the ring's counters).
    func swiftRingTransfer(
        size: Int, messages: Int, capacity: Int, polling: Bool, backend: SharedRegionBackend = .systemV
    ) throws -> (elapsed: UInt64, futexCalls: UInt64) {
        let mode = polling ? "poll" : "block"
        let (region, peer) = try ringWithPeer(
            capacity: capacity, ["ring-consume", "\(messages)", "\(size)", mode], backend: backend)
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region, at: Self.ringOffset)
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { message.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 0x5A)
        let start = cref_now_ns()
        if polling {
            try Self.pollingSends(&producer, UnsafeRawBufferPointer(message), messages: messages, peer: peer)
        } else {
            try Self.blockingSends(&producer, UnsafeRawBufferPointer(message), messages: messages)
        }
        try peer.finish()
        return (try region.load(UInt64.self, at: Self.resultOffset) - start, producer.counters.futexCalls)
    }

    /// The producer's loops, each in a function of its own as the C side's are: inlined into the
    /// function that sets the measurement up, the ring's fast path shared registers with all of it
    /// and spilled (a store per spill, in the store buffer a waiting producer fills).
    @inline(never)
    static func blockingSends(_ producer: inout SPSCRing.Producer, _ message: UnsafeRawBufferPointer, messages: Int) throws {
        for _ in 0..<messages { _ = try producer.send(message) }
    }

    @inline(never)
    static func pollingSends(
        _ producer: inout SPSCRing.Producer, _ message: UnsafeRawBufferPointer, messages: Int, peer: PeerProcess
    ) throws {
        for _ in 0..<messages {
            var tries = 0
            while try !producer.trySend(message) {
                tries += 1
                if tries & 0xFFFFF == 0, peer.hasEnded { break }  // finish() says why
            }
        }
    }

    /// Zero-copy hand-over: the payload is written in place before the clock starts, and a full
    /// fence waits for those writes to leave the store buffer (otherwise the release store of the
    /// head waits for them inside the timed part, and the figure measures the writing, as the C
    /// side showed: 0.03 µs at 64 B, 0.105 µs at 64 KiB); what is timed is publish-to-receive,
    /// which must not grow with the payload.
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

    func swiftHandover(size: Int, count: Int) throws -> [UInt64] {
        let (region, peer) = try ringWithPeer(capacity: Self.ringCapacity, ["handover", "\(count)"])
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region, at: Self.ringOffset)
        let seen = try SharedAtomic<UInt64>(in: region, at: Self.resultOffset + 8)
        var samples = [UInt64](repeating: 0, count: count)
        for index in 0..<count {
            guard let slot = try producer.reserve(size) else { throw ComparisonError("the hand-over ring is full") }
            slot.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index))
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            let start = cref_now_ns()
            producer.publish()
            while seen.withAtomic({ $0.load(ordering: .acquiring) }) != UInt64(index + 1) {}
            samples[index] = try region.load(UInt64.self, at: Self.resultOffset) - start
        }
        try peer.finish()
        return samples
    }

    /// Where the consumer leaves its clock readings: the region's first cache line.
    static let resultOffset = 0
    /// Where the ring starts: on a page of its own, as the C side's does.
    static let ringOffset = 4096

    /// A fresh region holding a result line and a ring, and a peer attached to it as consumer;
    /// a System V segment unless told otherwise (it cannot be cut, so the ring's copies are not
    /// guarded: the C rings' anonymous mappings cannot be cut either).
    private func ringWithPeer(
        capacity: Int, _ role: [String], backend: SharedRegionBackend = .systemV
    ) throws -> (any SharedRegion, PeerProcess) {
        let address = try target(backend, uniqueName("ring")).address
        var regionOptions = SharedRegionOptions()
        regionOptions.prefault = true
        let size = Self.ringOffset + SPSCRing.byteCount(capacity: capacity)
        let region = try SharedRegions.open(address, size: size, mode: .create, options: regionOptions)
        do {
            try SPSCRing.initialize(in: region, at: Self.ringOffset, capacity: capacity)
            return (region, try startPeer([role[0], address.description] + role.dropFirst()))
        } catch {
            try? region.remove()
            throw error
        }
    }
}

/// The rows of one size: each contender's median and p99, beside the limit's median and, where
/// one is named, a same-design reference's.
struct RingRows {
    let section: String
    let unit: String
    let values: [[Double]]
    /// Which contender is the limit.
    let limit: Int

    func row(_ mechanism: String, _ metric: String, _ index: Int, reference: Int? = nil) -> ComparisonResult {
        let median = Statistics.median(values[index])
        let limitMedian = Statistics.median(values[limit])
        let referenceMedian = reference.map { Statistics.median(values[$0]) }
        return ComparisonResult(
            section: section, mechanism: mechanism, metric: metric, unit: unit, higherIsBetter: true,
            median: median, p99: Statistics.tail(values[index], higherIsBetter: true),
            referenceMedian: referenceMedian, ratio: referenceMedian.map { median / $0 },
            limitMedian: index == limit ? nil : limitMedian, limitRatio: index == limit ? nil : median / limitMedian)
    }
}
