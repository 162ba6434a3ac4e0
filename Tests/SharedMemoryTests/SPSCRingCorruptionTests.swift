import SharedMemory
import Testing

/// A peer that writes garbage into a ring's memory: a bug or an attacker in another process.
/// Each test sets a ring up, lets a second process (the test peer) write the bad bytes, and
/// checks that the side in this process gets a `.corrupted` error naming the field and its
/// value: never a trap, never a message that was not sent, never an access outside the ring.
/// The ring ends exactly at the end of the mapping, so a read or write past it would crash.
@Suite("SPSC ring against a hostile peer")
struct SPSCRingCorruptionTests {
    /// A 4 KiB ring at the end of two pages: its last data byte is the mapping's last byte.
    struct HostileRing {
        static let capacity = 4096
        static let offset = 8192 - SPSCRing.byteCount(capacity: capacity)
        let region: any SharedRegion

        static let head = offset + 64
        static let tail = offset + 128
        static let data = offset + 256

        init() throws {
            region = try SharedRegions.open(try TestNames.address(.posix, "hostile"), size: 8192, mode: .create)
            try SPSCRing.initialize(in: region, at: Self.offset, capacity: Self.capacity)
        }

        /// Another process writes each value (little-endian u64) at its offset.
        func peerWrites(_ writes: [(offset: Int, value: UInt64)]) throws {
            var steps = ["open", region.address.description]
            for write in writes {
                steps += ["write", "\(write.offset)", hex(withUnsafeBytes(of: write.value.littleEndian) { Array($0) })]
            }
            try ChildProcess("SharedMemoryTestPeer", steps).expectSuccess()
        }

        func producer() throws -> SPSCRing.Producer { try SPSCRing.Producer(in: region, at: Self.offset) }
        func consumer() throws -> SPSCRing.Consumer { try SPSCRing.Consumer(in: region, at: Self.offset) }
    }

    func send(_ producer: inout SPSCRing.Producer, _ count: Int, size: Int = 16) throws {
        let message = [UInt8](repeating: 0xAB, count: size)
        for _ in 0..<count {
            let sent = try message.withUnsafeBytes { try producer.trySend($0) }
            #expect(sent)
        }
    }

    // MARK: The consumer's side: lengths, wrap markers and the head

    @Test(
        "a record length the ring cannot hold is .corrupted for peek and tryReceive, every time",
        arguments: [1 << 20, 1 << 63, UInt64(Int.max - 3), 2041, UInt64.max - 1, (1 << 63) | 127] as [UInt64])
    func recordLength(length: UInt64) throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        try send(&producer, 3)
        try ring.peerWrites([(HostileRing.data, length)])
        for _ in 0..<3 {  // no phantom message later either
            expectCorrupted("record length at data offset 0", length) { _ = try consumer.peek() }
        }
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        expectCorrupted("record length at data offset 0", length) {
            _ = try buffer.withUnsafeMutableBytes { buffer in try consumer.tryReceive(into: buffer) }
        }
    }

    @Test(
        "a record that would run past the ring's end (and the mapping's) is .corrupted, packed or 64-byte aligned",
        arguments: [100, (1 << 63) | 128] as [UInt64])
    func recordPastTheEnd(length: UInt64) throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        var buffer = [UInt8](repeating: 0, count: 2048)
        // 255 records of 16 bytes bring the tail to data offset 4080, 16 bytes before the end.
        for _ in 0..<255 {
            try send(&producer, 1, size: 8)
            #expect(try buffer.withUnsafeMutableBytes { try consumer.tryReceive(into: $0) } == 8)
        }
        try send(&producer, 1, size: 8)  // the last 16 bytes of the ring
        try send(&producer, 10, size: 64)  // and more after the wrap: the head is far ahead
        // A length that fits the head, not the ring (aligned: its message would start at the end).
        try ring.peerWrites([(HostileRing.data + 4080, length)])
        expectCorrupted("record length at data offset 4080", length) {
            _ = try buffer.withUnsafeMutableBytes { buffer in try consumer.tryReceive(into: buffer) }
        }
    }

    @Test("a wrap marker at data offset 0, or one the head leaves nothing after, is .corrupted")
    func wrapMarkers() throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        try send(&producer, 2)
        try ring.peerWrites([(HostileRing.data, UInt64.max)])
        expectCorrupted("wrap marker at data offset 0", UInt64.max) { _ = try consumer.peek() }

        // The second record's header becomes a wrap marker, and the head ends right there.
        let second = try HostileRing()
        defer { try? second.region.remove() }
        var secondProducer = try second.producer()
        var secondConsumer = try second.consumer()
        try send(&secondProducer, 2)
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(try buffer.withUnsafeMutableBytes { try secondConsumer.tryReceive(into: $0) } == 16)
        try second.peerWrites([(HostileRing.data + 24, UInt64.max)])
        expectCorrupted("wrap marker at data offset 24", UInt64.max) {
            _ = try secondConsumer.peek()
        }
    }

    @Test(
        "a head that is unaligned, behind the tail or more than a capacity ahead is .corrupted: no phantom messages",
        arguments: [13, 24, 48 + 4096 + 8, UInt64.max - 7, 1 << 63] as [UInt64])
    func badHead(head: UInt64) throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        try send(&producer, 2)
        var buffer = [UInt8](repeating: 0, count: 64)
        for _ in 0..<2 { #expect(try buffer.withUnsafeMutableBytes { try consumer.tryReceive(into: $0) } == 16) }
        // The consumer has read everything (tail 48): it re-reads the head at its next call.
        try ring.peerWrites([(HostileRing.head, head)])
        for _ in 0..<3 {
            expectCorrupted("head", head) { _ = try consumer.peek() }
        }
        expectCorrupted("head", head) {
            _ = try consumer.waitForMessage(timeout: .seconds(10))
        }
    }

    // MARK: The producer's side: the tail

    @Test(
        "a tail that is unaligned, ahead of the head or running backwards is .corrupted for reserve, trySend and send",
        arguments: [5, 8192 + 64, 4096 * 3, 8, UInt64.max - 7] as [UInt64])
    func badTail(tail: UInt64) throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        // 64 records of 64 bytes fill the ring; the consumer takes them all (tail 4096, given
        // back when it finds the ring empty); 64 more fill it again (head 8192), so the
        // producer's next call re-reads the tail.
        try send(&producer, 64, size: 56)
        while try consumer.peek() != nil { consumer.release() }
        try send(&producer, 64, size: 56)
        let buffer = [UInt8](repeating: 0, count: 64)
        try ring.peerWrites([(HostileRing.tail, tail)])
        expectCorrupted("tail", tail) { _ = try producer.reserve(56) }
        expectCorrupted("tail", tail) {
            _ = try buffer.withUnsafeBytes { bytes in try producer.trySend(bytes) }
        }
        expectCorrupted("tail", tail) {
            _ = try buffer.withUnsafeBytes { bytes in try producer.send(bytes, timeout: .seconds(10)) }
        }
    }

    // MARK: Attaching

    @Test(
        "a capacity that is not a power of two from 64 that fits the region is .corrupted, for both sides",
        arguments: [1 << 63, 1, 0, 100, 8192, 1 << 31] as [UInt64])
    func badCapacity(capacity: UInt64) throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        try ring.peerWrites([(HostileRing.offset + 8, capacity)])
        expectCorrupted("capacity", capacity) { _ = try ring.producer() }
        expectCorrupted("capacity", capacity) { _ = try ring.consumer() }
    }

    @Test("a ring header forged in a 257-byte region, with capacity 1, is refused")
    func forgedInASmallRegion() throws {
        let region = try SharedRegions.open(try TestNames.address(.posix, "forged"), size: 257, mode: .create)
        defer { try? region.remove() }
        let steps = ["open", region.address.description, "write", "0", "33474e5243535053", "write", "8", "0100000000000000"]
        try ChildProcess("SharedMemoryTestPeer", steps).expectSuccess()  // "SPSCRNG3", capacity 1
        expectCorrupted("capacity", 1) { _ = try SPSCRing.Consumer(in: region) }
        expectCorrupted("capacity", 1) { _ = try SPSCRing.Producer(in: region) }
    }

    @Test(
        "a ring of an earlier layout is .layoutMismatch naming it, for both sides",
        arguments: [(UInt64(0x5350_5343_524E_4732), 2), (0x5350_5343_5249_4E47, 1)])
    func earlierLayout(identifier: UInt64, version: Int) throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        try ring.peerWrites([(HostileRing.offset, identifier)])
        for attach in [{ _ = try ring.producer() }, { _ = try ring.consumer() }] as [() throws -> Void] {
            do {
                try attach()
                Issue.record("a ring of layout \(version) was accepted")
            } catch let error as SharedMemoryError {
                #expect(error.code == .layoutMismatch, "\(error)")
                #expect(error.message.contains("layout \(version);"), "\(error)")
            }
        }
    }

    @Test(
        "a head or tail that breaks the layout is .corrupted when a side attaches",
        arguments: [(UInt64(13), UInt64(0), "head"), (0, 5, "tail"), (0, 64, "head"), (8192, 0, "head")])
    func badPositionsAtAttach(head: UInt64, tail: UInt64, field: String) throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        try ring.peerWrites([(HostileRing.head, head), (HostileRing.tail, tail)])
        let value = field == "head" ? head : tail
        expectCorrupted(field, value) { _ = try ring.producer() }
        expectCorrupted(field, value) { _ = try ring.consumer() }
    }

    @Test("a capacity shrunk after the sides attached is not used by them, and refuses a side attaching then")
    func capacityShrunk() throws {
        let ring = try HostileRing()
        defer { try? ring.region.remove() }
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        try send(&producer, 20, size: 56)  // 1280 bytes published
        try ring.peerWrites([(HostileRing.offset + 8, 64)])
        var buffer = [UInt8](repeating: 0, count: 64)
        for _ in 0..<20 { #expect(try buffer.withUnsafeMutableBytes { try consumer.tryReceive(into: $0) } == 56) }
        #expect(try buffer.withUnsafeMutableBytes { try consumer.tryReceive(into: $0) } == nil)
        try send(&producer, 1, size: 56)  // the producer still uses its 4096 bytes
        // A new side reads capacity 64 with the head 1344 bytes ahead of the tail.
        try ring.peerWrites([(HostileRing.tail, 0)])
        expectCorrupted("head", 1344) { _ = try ring.consumer() }
    }
}

/// Expects `body` to throw `.corrupted` naming `field` and `value`.
func expectCorrupted(
    _ field: String, _ value: UInt64, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("accepted: \(field) holding \(value)", sourceLocation: sourceLocation)
    } catch let error as SharedMemoryError {
        #expect(error.code == .corrupted, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.hasPrefix("\(field) holds \(value), but "), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("not a SharedMemoryError: \(error)", sourceLocation: sourceLocation)
    }
}
