#if canImport(Glibc)
import Glibc
#endif
@testable import SharedMemory
import Testing

/// Whether this test binary runs under AddressSanitizer or ThreadSanitizer.
enum Sanitizer {
    static let isActive = ["__asan_init", "__tsan_init"].contains { (name: String) in dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) != nil }
}

@Suite("SPSC ring")
struct SPSCRingTests {
    /// A region holding one initialized ring of `capacity` data bytes.
    func ring(_ backend: SharedRegionBackend = .posix, capacity: Int) throws -> any SharedRegion {
        let region = try SharedRegions.open(
            try TestNames.address(backend, "ring"), size: SPSCRing.byteCount(capacity: capacity), mode: .create)
        try SPSCRing.initialize(in: region, capacity: capacity)
        return region
    }

    /// The regions whose copies differ: a POSIX object another process can cut (guarded
    /// copies), a System V segment and a memfd sealed against shrinking, which no process can
    /// (plain `memcpy`).
    enum CopyKind: String, CaseIterable, CustomTestStringConvertible {
        case posix, systemV, sealedMemfd
        var testDescription: String { rawValue }
    }

    func ring(_ kind: CopyKind, capacity: Int) throws -> any SharedRegion {
        switch kind {
        case .posix: return try ring(SharedRegionBackend.posix, capacity: capacity)
        case .systemV: return try ring(SharedRegionBackend.systemV, capacity: capacity)
        case .sealedMemfd:
            let region = try MemfdRegion(name: "ring", size: SPSCRing.byteCount(capacity: capacity))
            try region.seal([.shrink])
            try SPSCRing.initialize(in: region, capacity: capacity)
            return region
        }
    }

    @Test("copies are guarded only where another process can cut the region short")
    func guardedWhereCuttable() throws {
        for kind in CopyKind.allCases where kind != .sealedMemfd || SharedRegionBackend.memfd.isAvailable {
            let region = try ring(kind, capacity: 256)
            defer { try? region.remove() }
            #expect(try SPSCRing.Producer(in: region).shared.copiesGuarded == (kind == .posix), "\(kind)")
            #expect(try SPSCRing.Consumer(in: region).shared.copiesGuarded == (kind == .posix), "\(kind)")
        }
        // A memfd not sealed against shrinking can be cut by whoever holds its descriptor.
        if SharedRegionBackend.memfd.isAvailable {
            let unsealed = try MemfdRegion(name: "ring", size: SPSCRing.byteCount(capacity: 256))
            try SPSCRing.initialize(in: unsealed, capacity: 256)
            #expect(try SPSCRing.Producer(in: unsealed).shared.copiesGuarded)
        }
    }

    @Test(
        "wraparound at every record boundary, every size, packed and 64-byte aligned, in order and intact",
        arguments: CopyKind.allCases.filter { $0 != .sealedMemfd || SharedRegionBackend.memfd.isAvailable },
        [256, 1024])
    func wraparound(kind: CopyKind, capacity: Int) throws {
        let region = try ring(kind, capacity: capacity)
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region)
        var consumer = try SPSCRing.Consumer(in: region)
        let maximum = producer.maximumMessageByteCount
        #expect(maximum == capacity / 2 - 8)
        var buffer = [UInt8](repeating: 0, count: maximum)
        var received = [UInt8](repeating: 0, count: maximum)
        var index = 0
        // Each size goes round the ring several times, starting where the last size left
        // off, so records and wrap markers land at every 8-byte position.
        for size in 0...maximum {
            for _ in 0..<(3 * capacity / (size + 8) + 1) {
                var sent = 0
                while true {  // fill until full, then drain
                    for position in 0..<size { buffer[position] = UInt8(truncatingIfNeeded: index + sent + position) }
                    let accepted = try buffer.withUnsafeBytes { try producer.trySend(UnsafeRawBufferPointer(rebasing: $0[..<size])) }
                    if !accepted { break }
                    sent += 1
                }
                #expect(sent >= 1)
                for message in 0..<sent {
                    let count = try received.withUnsafeMutableBytes { try consumer.tryReceive(into: $0) }
                    #expect(count == size)
                    #expect(received[..<size].elementsEqual((0..<size).map { UInt8(truncatingIfNeeded: index + message + $0) }))
                }
                #expect(try received.withUnsafeMutableBytes { try consumer.tryReceive(into: $0) } == nil)
                index += sent
            }
        }
    }

    @Test("zero copy: reserve, write in place, publish; peek, read in place, release")
    func zeroCopy() throws {
        let region = try ring(capacity: 1024)
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region)
        var consumer = try SPSCRing.Consumer(in: region)
        let empty = try consumer.peek()
        #expect(empty == nil)
        let reserved = try producer.reserve(16)
        let slot = try #require(reserved)
        slot.storeBytes(of: UInt64(0xFEED), toByteOffset: 0, as: UInt64.self)
        slot.storeBytes(of: UInt64(0xBEEF), toByteOffset: 8, as: UInt64.self)
        let early = try consumer.peek()
        #expect(early == nil)  // not published yet
        producer.publish()
        let peeked = try consumer.peek()
        let message = try #require(peeked)
        #expect(message.count == 16)
        #expect(message.load(fromByteOffset: 8, as: UInt64.self) == 0xBEEF)
        consumer.release()
        let drained = try consumer.peek()
        #expect(drained == nil)
    }

    @Test("byte collections go in (arrays, slices, UTF-8, and collections that are not contiguous); arrays come out")
    func byteCollections() throws {
        let region = try ring(capacity: 1024)
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region)
        var consumer = try SPSCRing.Consumer(in: region)
        let array: [UInt8] = [1, 2, 3, 4, 5]
        #expect(try producer.trySend(array))
        #expect(try producer.trySend(array[1...3]))
        #expect(try producer.send("héllo".utf8, timeout: .seconds(10)))
        #expect(try producer.trySend((0..<300).lazy.map { UInt8(truncatingIfNeeded: $0 * 7) }))
        #expect(try producer.trySend([UInt8]()))
        #expect(try consumer.tryReceive() == array)
        #expect(try consumer.receive(timeout: .seconds(10)) == [2, 3, 4])
        #expect(try consumer.tryReceive() == Array("héllo".utf8))
        #expect(try consumer.tryReceive() == (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) })
        #expect(try consumer.tryReceive() == [])
        #expect(try consumer.tryReceive() == nil)
        #expect(try consumer.receive(timeout: .milliseconds(1)) == nil)
        do {
            _ = try producer.trySend([UInt8](repeating: 0, count: 505))
            Issue.record("a 505-byte message was accepted by a 1024-byte ring")
        } catch {
            #expect(error.code == .invalidSize)
        }
    }

    @Test("openingOrCreating: either side first, the same ring; another capacity is refused")
    func openingOrCreating() throws {
        let address = try TestNames.address(.posix, "named")
        defer { cleanUp(address) }
        var consumer = try SPSCRing.Consumer(openingOrCreating: address, capacity: 4096)
        var producer = try SPSCRing.Producer(openingOrCreating: address, capacity: 4096)
        #expect(try producer.trySend([42]))
        #expect(try consumer.tryReceive() == [42])
        #expect(throws: SharedMemoryError.self) { try SPSCRing.Producer(openingOrCreating: address, capacity: 8192) }
        #expect(throws: SharedMemoryError.self) { try SPSCRing.Consumer(openingOrCreating: address, capacity: 100) }
    }

    @Test("a full ring refuses; an oversized message and a small buffer are typed errors")
    func limits() throws {
        let region = try ring(capacity: 64)
        defer { try? region.remove() }
        var producer = try SPSCRing.Producer(in: region)
        var consumer = try SPSCRing.Consumer(in: region)
        let big = [UInt8](repeating: 1, count: 24)
        #expect(try big.withUnsafeBytes { try producer.trySend($0) })
        #expect(try big.withUnsafeBytes { try producer.trySend($0) })
        #expect(try !big.withUnsafeBytes { try producer.trySend($0) })
        do {
            _ = try producer.reserve(25)
            Issue.record("a 25-byte message was accepted by a 64-byte ring")
        } catch {
            #expect(error.code == .invalidSize)
        }
        var small = [UInt8](repeating: 0, count: 8)
        do {
            _ = try small.withUnsafeMutableBytes { buffer throws(SharedMemoryError) in try consumer.tryReceive(into: buffer) }
            Issue.record("a 24-byte message was received into 8 bytes")
        } catch let error as SharedMemoryError {
            #expect(error.code == .invalidSize)
        }
        let stays = try consumer.peek()
        #expect(stays?.count == 24)  // the message stays
    }

    @Test("bad rings: uninitialized, bad capacity, misaligned, too small a region")
    func badRings() throws {
        let address = try TestNames.address(.posix, "ring")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        #expect(throws: SharedMemoryError.self) { try SPSCRing.Consumer(in: region) }
        for capacity in [0, 32, 100, 1 << 20] {
            #expect(throws: SharedMemoryError.self) { try SPSCRing.initialize(in: region, capacity: capacity) }
        }
        try SPSCRing.initialize(in: region, at: 64, capacity: 1024)
        #expect(throws: SharedMemoryError.self) { try SPSCRing.Producer(in: region, at: 8) }
        #expect(try SPSCRing.Producer(in: region, at: 64).maximumMessageByteCount == 504)
        // A ring of 0.1.0's layout ("SPSCRING", 32-bit sleeping flags) is refused, not misread.
        try region.store(UInt64(0x5350_5343_5249_4E47), at: 64)
        let error = #expect(throws: SharedMemoryError.self) { try SPSCRing.Consumer(in: region, at: 64) }
        #expect(error?.code == .layoutMismatch)
    }

    @Test(
        "across processes: every message once, in order, intact",
        arguments: [(1_000_000, 0, 0), (100_000, 2_000, 0), (100_000, 0, 2_000)])
    func acrossProcesses(count: Int, producerDelay: Int, consumerDelay: Int) throws {
        let region = try ring(capacity: 1 << 16)
        defer { try? region.remove() }
        let maximum = 300
        let consumer = try ChildProcess.peer(
            "open", "\(region.address)", "ring-consume", "\(count)", "\(maximum)", "\(consumerDelay)")
        let producer = try ChildProcess.peer(
            "open", "\(region.address)", "ring-produce", "\(count)", "\(maximum)", "\(producerDelay)")
        try producer.expectSuccess()
        #expect(try consumer.readLine() == "received \(count)")
        try consumer.expectSuccess()
    }

    /// AllocationProbe counts every malloc of its process: 100,000 messages through the ring
    /// must not add a single one.
    @Test(
        "no heap allocation per message", .disabled(if: Sanitizer.isActive, "a sanitizer replaces malloc itself"),
        arguments: [64, 1000])
    func noAllocationPerMessage(size: Int) throws {
        let address = try TestNames.address(.posix, "alloc")
        defer { cleanUp(address) }
        let probe = try ChildProcess("AllocationProbe", ["\(address)", "100000", "\(size)"])
        let result = try probe.finish()
        #expect(result.status == 0, "\(result.errors)")
        let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        // The control: one malloc outside the loop is seen, so the zero below means something.
        #expect(lines.first.flatMap { Int($0.dropFirst("control ".count)) }.map { $0 >= 1 } == true, "\(lines)")
        #expect(lines.last == "allocations 0 in 100000 messages")
    }

    @Test("across processes over every named backend", arguments: SharedRegionBackend.available.filter { $0.capabilities.contains(.named) })
    func everyBackend(backend: SharedRegionBackend) throws {
        let region = try ring(backend, capacity: 4096)
        defer { try? region.remove() }
        let consumer = try ChildProcess.peer("open", "\(region.address)", "ring-consume", "50000", "1000", "0")
        let producer = try ChildProcess.peer("open", "\(region.address)", "ring-produce", "50000", "1000", "0")
        try producer.expectSuccess()
        #expect(try consumer.readLine() == "received 50000")
        try consumer.expectSuccess()
    }
}
