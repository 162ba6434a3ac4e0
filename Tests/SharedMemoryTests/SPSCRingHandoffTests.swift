import SharedMemory
import Testing

/// The ring's sleep and wake-up protocol under load: no wake-up is ever lost. Two processes, a
/// small ring, neither side spinning before it sleeps, random pauses on both sides; every wait
/// is bounded by a generous timeout that fails the peer (see `RingHandoff` in the test peer).
@Suite("SPSC ring sleep and wake-up")
struct SPSCRingHandoffTests {
    @Test("a million sleep announcements across two processes, no wake-up lost, every message in order")
    func millionHandoffs() throws {
        let capacity = 64  // four 8-byte messages: both sides find it full or empty all the time
        let region = try SharedRegions.open(
            try TestNames.address(.posix, "handoff"), size: SPSCRing.byteCount(capacity: capacity), mode: .create)
        defer { try? region.remove() }
        try SPSCRing.initialize(in: region, capacity: capacity)
        let consumer = try ChildProcess.peer("open", "\(region.address)", "ring-handoffs-consume", "7")
        let producer = try ChildProcess.peer("open", "\(region.address)", "ring-handoffs-produce", "1000000", "7")
        let report = try #require(try producer.readLine()).split(separator: " ")
        try producer.expectSuccess()
        try consumer.expectSuccess(received: report)
        // "sent N announced A slept S woke W"
        #expect(report.count == 8 && report[0] == "sent" && report[2] == "announced", "\(report)")
        let announced = report.count == 8 ? UInt64(report[3]) ?? 0 : 0
        #expect(announced >= 1_000_000, "only \(announced) sleep announcements: \(report)")
        let slept = report.count == 8 ? UInt64(report[5]) ?? 0 : 0
        #expect(slept > 0, "no side ever slept in futex_wait: \(report)")
    }
}

extension ChildProcess {
    /// The consumer's count must be the producer's.
    fileprivate func expectSuccess(received report: [Substring]) throws {
        let line = try readLine()
        #expect(report.count > 1 && line == "received \(report[1])", "consumer: \(line ?? "nothing"), producer: \(report)")
        try expectSuccess()
    }
}
