#if canImport(Glibc)
import Glibc
#endif
import SharedMemory

extension Peer {
    /// Steps on a `SharedHeap` at OFFSET of the current region:
    ///
    ///   heap-churn OFFSET OPS SEED          OPS random allocations (random sizes and alignments, at
    ///                                       most 16 live) and deallocations, each allocation filled
    ///                                       with one byte and checked before it is freed; all freed
    ///                                       at the end; exit 1 if an allocation's bytes changed
    ///   heap-churn-forever OFFSET SEED N    the same without end, each live allocation starting with
    ///                                       the marker `heapMarker` (cleared before it is freed); say
    ///                                       "ready" after N operations (to be killed)
    ///   heap-scribble OFFSET SEED           write 1 to 8 random bytes at a random place of the heap's
    ///                                       first 2.5 KiB (header, undo log, cache slots, first blocks),
    ///                                       never its mutex
    ///   heap-fuzz-use OFFSET ROUNDS SEED    attach, then ROUNDS of allocate, deallocate, statistics,
    ///                                       allocations and verify; say "outcomes ok=N CODE=N ..."
    static let heapSteps: [String: Step] = [
        "heap-churn": { peer in
            let region = try peer.current()
            let heap = try SharedHeap(in: region, at: peer.nextNumber("heap offset"))
            let operations = try peer.nextNumber("operations")
            var random = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            var live: [(offset: RegionOffset<UInt8>, count: Int, fill: UInt8)] = []
            for _ in 0..<operations {
                if live.count < 16 && (live.isEmpty || random.next() % 2 == 0) {
                    let count = Int(random.next() % 600)
                    let alignment = random.pick([1, 8, 16, 32, 64, 256])
                    let offset = try heap.allocate(byteCount: count, alignment: alignment)
                    guard offset.byteOffset % Int64(alignment) == 0 else { fail(1, "misaligned \(offset) for \(alignment)") }
                    let fill = UInt8(truncatingIfNeeded: random.next())
                    try region.write([UInt8](repeating: fill, count: count), at: Int(offset.byteOffset))
                    live.append((offset, count, fill))
                } else {
                    let index = Int(random.next() % UInt64(live.count))
                    try release(live.remove(at: index), heap)
                }
            }
            for allocation in live { try release(allocation, heap) }
        },
        "heap-churn-forever": { peer in
            let region = try peer.current()
            let heap = try SharedHeap(in: region, at: peer.nextNumber("heap offset"))
            var random = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            let readyAfter = try peer.nextNumber("operations before ready")
            var live: [RegionOffset<UInt8>] = []
            var operations = 0
            while true {
                if operations == readyAfter { say("ready") }
                operations += 1
                if live.count < 8 && (live.isEmpty || random.next() % 2 == 0) {
                    let offset = try heap.allocate(
                        byteCount: 8 + Int(random.next() % 300), alignment: random.pick([8, 16, 64]))
                    try region.store(heapMarker, at: Int(offset.byteOffset))
                    live.append(offset)
                } else {
                    let offset = live.remove(at: Int(random.next() % UInt64(live.count)))
                    try region.store(UInt64(0), at: Int(offset.byteOffset))
                    try heap.deallocate(offset)
                }
            }
        },
        "heap-scribble": { peer in
            let region = try peer.current()
            let heap = try peer.nextNumber("heap offset")
            var random = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            // Anywhere in the first 2.5 KiB but the mutex (64..<128), whose own fuzzing is elsewhere.
            var place = Int(random.next() % 2496)
            if place >= 64 { place += 64 }
            let count = 1 + Int(random.next() % 8)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            try region.write(bytes, at: heap + place)
        },
        "heap-fuzz-use": { peer in
            let region = try peer.current()
            let offset = try peer.nextNumber("heap offset")
            let rounds = try peer.nextNumber("rounds")
            var random = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            var outcomes: [String: Int] = [:]
            func record(_ body: () throws(SharedMemoryError) -> Void) {
                do throws(SharedMemoryError) {
                    try body()
                    outcomes["ok", default: 0] += 1
                } catch {
                    outcomes["\(error.code)", default: 0] += 1
                }
            }
            for _ in 0..<rounds {
                record { () throws(SharedMemoryError) in
                    let heap = try SharedHeap(in: region, at: offset)
                    let taken = try heap.allocate(byteCount: Int(random.next() % 200), alignment: random.pick([8, 64]))
                    try heap.deallocate(taken)
                }
                record { () throws(SharedMemoryError) in
                    let heap = try SharedHeap(in: region, at: offset)
                    let listed = try heap.allocations()
                    if let first = listed.first { try heap.deallocate(first.offset) }
                }
                record { () throws(SharedMemoryError) in _ = try SharedHeap(in: region, at: offset).statistics() }
                record { () throws(SharedMemoryError) in try SharedHeap(in: region, at: offset).verify() }
                record { () throws(SharedMemoryError) in
                    try SharedHeap(in: region, at: offset).deallocate(
                        RegionOffset(byteOffset: Int(random.next() % UInt64(region.byteCount + 64))))
                }
            }
            say("outcomes " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        },
    ]

    /// What `heap-churn-forever` writes at the start of each allocation it holds: "HEAPLIVE".
    static let heapMarker: UInt64 = 0x4556_494C_5041_4548

    private static func release(
        _ allocation: (offset: RegionOffset<UInt8>, count: Int, fill: UInt8), _ heap: SharedHeap
    ) throws {
        let found = try heap.region.read(at: Int(allocation.offset.byteOffset), count: allocation.count)
        guard found.allSatisfy({ $0 == allocation.fill }) else {
            fail(1, "the allocation at \(allocation.offset.byteOffset) was overwritten by another")
        }
        try heap.deallocate(allocation.offset)
    }
}
