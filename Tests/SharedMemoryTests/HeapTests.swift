#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import Testing

/// `SharedHeap`: allocation from many processes, crash recovery, and a peer that corrupts it.
@Suite("Heap")
struct HeapTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }
    static let heapBytes = 1 << 16

    /// A fresh heap in a fresh region at `address`, with what it has free when empty.
    func makeHeap(_ address: RegionAddress) throws -> (SharedHeap, HeapStatistics) {
        let heap = try SharedHeap.openInitialized(address, byteCount: Self.heapBytes)
        return (heap, try heap.verify())
    }

    @Test("allocate honours alignment, fills the heap, and deallocating everything leaves one free block")
    func singleProcess() throws {
        let address = try TestNames.address(.posix, "heap")
        defer { cleanUp(address) }
        let (heap, empty) = try makeHeap(address)
        #expect(empty.freeByteCount == Self.heapBytes / 16 * 16 - (SharedHeap.minimumByteCount - 32))
        #expect(empty.freeBlockCount == 1 && empty.allocationCount == 0)
        var taken: [RegionOffset<UInt8>] = []
        for alignment in [1, 8, 16, 32, 64, 128, 4096] {
            let offset = try heap.allocate(byteCount: 24, alignment: alignment)
            #expect(offset.byteOffset % Int64(alignment) == 0)
            taken.append(offset)
        }
        #expect(try heap.verify().allocationCount == taken.count)
        #expect(try heap.allocations().map(\.offset) == taken.sorted { $0.byteOffset < $1.byteOffset })
        let tooMuch = #expect(throws: SharedMemoryError.self) { try heap.allocate(byteCount: Self.heapBytes - 100) }
        #expect(tooMuch?.code == .noSpace)
        for offset in taken.reversed() { try heap.deallocate(offset) }
        #expect(try heap.verify() == empty)
    }

    @Test("a double free, an offset that is no allocation, and bad arguments are refused with typed errors")
    func badArguments() throws {
        let address = try TestNames.address(.posix, "heap")
        defer { cleanUp(address) }
        let (heap, empty) = try makeHeap(address)
        let offset = try heap.allocate(byteCount: 100)
        try heap.deallocate(offset)
        for bad in [offset, offset.advanced(by: 16), RegionOffset(byteOffset: -5), RegionOffset(byteOffset: Int.max)] {
            let error = #expect(throws: SharedMemoryError.self) { try heap.deallocate(bad) }
            #expect(error?.code == .invalidArgument)
        }
        for (count, alignment) in [(-1, 8), (10, 3), (10, 0)] {
            let error = #expect(throws: SharedMemoryError.self) { try heap.allocate(byteCount: count, alignment: alignment) }
            #expect(error?.code == .invalidArgument)
        }
        #expect(try heap.verify() == empty)
        let zeros = try SharedRegions.open(try TestNames.address(.memfd, "heap"), size: 4096, mode: .create)
        #expect(throws: SharedMemoryError.self) { try SharedHeap(in: zeros, at: 0) }
        #expect((#expect(throws: SharedMemoryError.self) { try SharedHeap.initialize(in: zeros, at: 32) })?.code == .misaligned)
        #expect((#expect(throws: SharedMemoryError.self) { try SharedHeap.initialize(in: zeros, byteCount: 100) })?.code == .invalidSize)
    }

    @Test("N processes x M random allocations and frees: verify, and every byte accounted for", arguments: named)
    func manyProcesses(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "heap")
        defer { cleanUp(address) }
        let (heap, empty) = try makeHeap(address)
        let peers = try (1...4).map { seed in
            try ChildProcess.peer("open", "\(address)", "heap-churn", "\(heap.offset)", "2000", "\(seed)")
        }
        for peer in peers { try peer.expectSuccess() }
        #expect(try heap.verify() == empty)
    }

    @Test("a peer killed at random points of its allocations: rolled back, verified, only its own blocks held", arguments: named)
    func killedPeers(backend: SharedRegionBackend) throws {
        var address = try TestNames.address(backend, "heap")
        defer { cleanUp(address) }
        var (heap, empty) = try makeHeap(address)
        heap.lockTimeout = .seconds(2)
        var random = SystemRandomNumberGenerator()
        var anonymousHolders = 0
        // 100 kills in all, spread over the named backends.
        for round in 0..<(100 + Self.named.count - 1) / Self.named.count {
            let peer = try ChildProcess.peer(
                "open", "\(address)", "heap-churn-forever", "\(heap.offset)", "\(round)",
                "\(Int.random(in: 0..<400, using: &random))")
            #expect(try peer.readLine() == "ready")
            try peer.kill()
            let result = try peer.finish()
            #expect(result.status == 128 + SIGKILL, "peer failed: \(result.errors)")
            do {
                try checkAfterKill(heap, empty)
            } catch let error as SharedMemoryError where error.code == .timedOut {
                // Killed between taking the mutex and recording itself: ProcessMutex's anonymous
                // instant. Nobody else can hold the lock now, so the timeout means exactly that.
                anonymousHolders += 1
                cleanUp(address)
                address = try TestNames.address(backend, "heap")
                (heap, empty) = try makeHeap(address)
                heap.lockTimeout = .seconds(2)
            }
        }
        #expect(anonymousHolders == 0)
    }

    /// The next caller repairs what the kill interrupted; what the killed peer held is then all that is allocated.
    private func checkAfterKill(_ heap: SharedHeap, _ empty: HeapStatistics) throws {
        let held = try heap.allocations()
        try heap.verify()
        // At most 8 live blocks, and one more that allocate had just returned or deallocate was taking back.
        #expect(held.count <= 9)
        var unmarked = 0
        for allocation in held {
            let marker = try heap.region.load(UInt64.self, at: Int(allocation.offset.byteOffset))
            if marker != 0x4556_494C_5041_4548 { unmarked += 1 }
        }
        #expect(unmarked <= 1)
        for allocation in held { try heap.deallocate(allocation.offset) }
        var after = try heap.verify()
        after.recoveries = empty.recoveries
        #expect(after == empty)
    }

    @Test("a peer that writes random bytes over the heap's metadata: typed errors only, never a crash", arguments: 0..<40)
    func scribbledMetadata(seed: Int) throws {
        let address = try TestNames.address(.posix, "heap")
        defer { cleanUp(address) }
        let (heap, _) = try makeHeap(address)
        for count in [10, 50, 200, 30, 70] { _ = try heap.allocate(byteCount: count) }
        try ChildProcess.peer("open", "\(address)", "heap-scribble", "\(heap.offset)", "\(seed)").expectSuccess()
        let user = try ChildProcess.peer("open", "\(address)", "heap-fuzz-use", "\(heap.offset)", "20", "\(seed)")
        let outcomes = try user.readLine() ?? ""
        try user.expectSuccess()
        #expect(outcomes.hasPrefix("outcomes "))
        // Whatever the bytes, this process gets an answer or a typed error too.
        do throws(SharedMemoryError) {
            try SharedHeap(in: heap.region, at: heap.offset).verify()
        } catch {
            #expect([.corrupted, .layoutMismatch, .invalidArgument, .noSpace, .notRecoverable].contains(error.code))
        }
    }
}
