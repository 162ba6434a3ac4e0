import CReference
import SharedMemory

extension ComparisonRun {
    static let heapBatch = 1000
    static let heapObjects = 1000
    /// Where the heap starts in its region: after the start word and the peer's end time.
    static let heapOffset = 64

    /// `SharedHeap` against glibc: allocate + deallocate of 64 B beside malloc + free; `find` of
    /// one named object among 1,000 beside a lookup in a C hash table of the same layout without
    /// a lock; and two processes allocating and freeing at once beside one alone.
    func heap() throws -> [ComparisonResult] {
        let batch = Self.heapBatch
        let allocation = try compare(
            section: "heap", mechanism: "SharedHeap", metric: "allocate + deallocate 64 B (C: malloc + free)",
            unit: "ns", iterations: iterations(400), value: { Double($0) / Double(batch) },
            swift: { try self.swiftAllocateDeallocate(batch: batch, count: $0) },
            c: { count in
                try self.cSamples("cref_malloc_free", count: count) { cref_malloc_free(64, Int32(batch), Int32(count), $0) }
            })
        let find = try compare(
            section: "heap", mechanism: "SharedHeap",
            metric: "find among \(Self.heapObjects) named objects (C: same table, no lock)", unit: "ns",
            iterations: iterations(400), value: { Double($0) / Double(batch) },
            swift: { try self.swiftFind(batch: batch, count: $0) },
            c: { count in
                try self.cSamples("cref_table_find", count: count) {
                    cref_table_find(Int32(Self.heapObjects), Int32(batch), Int32(count), $0)
                }
            })
        return [allocation, find, try twoProcesses()]
    }

    /// A heap of 1 MiB at `heapOffset` of a fresh POSIX region.
    private func heapRegion() throws -> SharedHeap {
        let address = try target(.posix, uniqueName("heap")).address
        var regionOptions = SharedRegionOptions()
        regionOptions.prefault = true
        let region = try SharedRegions.open(address, size: Self.heapOffset + (1 << 20), mode: .create, options: regionOptions)
        do {
            return try SharedHeap.initialize(in: region, at: Self.heapOffset)
        } catch {
            try? region.remove()
            throw error
        }
    }

    private func swiftAllocateDeallocate(batch: Int, count: Int) throws -> [UInt64] {
        let heap = try heapRegion()
        defer { try? heap.region.remove() }
        var samples = [UInt64](repeating: 0, count: count)
        for round in -1..<count {  // one untimed batch first, as on the C side
            let start = cref_now_ns()
            for _ in 0..<batch { try heap.deallocate(try heap.allocate(byteCount: 64)) }
            let end = cref_now_ns()
            if round >= 0 { samples[round] = end - start }
        }
        return samples
    }

    /// The C side's lookups (cref_table_find): the same names in the same order.
    private func swiftFind(batch: Int, count: Int) throws -> [UInt64] {
        let heap = try heapRegion()
        defer { try? heap.region.remove() }
        let names = (0..<Self.heapObjects).map { "object-\($0)" }
        for (index, name) in names.enumerated() { _ = try heap.construct(name, UInt64(index)) }
        var samples = [UInt64](repeating: 0, count: count)
        var next = 0
        var sink: Int64 = 0
        for round in -1..<count {
            let start = cref_now_ns()
            for _ in 0..<batch {
                let which = next &* 7919 % Self.heapObjects
                next += 1
                guard let found = try heap.find(names[which], as: UInt64.self) else {
                    throw ComparisonError("the named object \(names[which]) was not found")
                }
                sink &+= found.byteOffset
            }
            let end = cref_now_ns()
            if round >= 0 { samples[round] = end - start }
        }
        if sink == 0 { throw ComparisonError("no named object was found") }
        return samples
    }

    /// Rounds of: this process alone doing `pairs` allocate + deallocate of 64 B, then this one
    /// and a peer (`heap-churn`) doing as many each at once, from the same start word. The rate
    /// of two is both processes' pairs over the time until the later one ended.
    private func twoProcesses() throws -> ComparisonResult {
        let pairs = options.quick ? 200_000 : 2_000_000
        let rounds = options.quick ? 3 : 7
        var alone: [Double] = []
        var together: [Double] = []
        for _ in 0..<rounds {
            try cleanUp.checkpoint()
            let heap = try heapRegion()
            defer { try? heap.region.remove() }
            let elapsed = try timed { for _ in 0..<pairs { try heap.deallocate(try heap.allocate(byteCount: 64)) } }
            alone.append(Double(pairs) / Double(elapsed) * 1000)
            let go = try SharedAtomic<UInt64>(in: heap.region, at: 0)
            let peer = try startPeer(["heap-churn", heap.region.address.description, "\(pairs)"])
            let start = cref_now_ns()
            go.withAtomic { $0.store(1, ordering: .releasing) }
            for _ in 0..<pairs { try heap.deallocate(try heap.allocate(byteCount: 64)) }
            let end = cref_now_ns()
            try peer.finish()
            let peerEnd = try heap.region.load(UInt64.self, at: 8)
            together.append(Double(2 * pairs) / Double(max(end, peerEnd) - start) * 1000)
            if try heap.verify().allocationCount != 0 { throw ComparisonError("the heap kept allocations after the run") }
        }
        let median = Statistics.median(together)
        let reference = Statistics.median(alone)
        return ComparisonResult(
            section: "heap", mechanism: "SharedHeap",
            metric: "2 processes allocate + deallocate 64 B at once, total (reference: 1 process alone)",
            unit: "M pairs/s", higherIsBetter: true, median: median,
            p99: Statistics.tail(together, higherIsBetter: true), referenceMedian: reference, ratio: median / reference)
    }
}
