import SharedMemory
import Testing

/// AllocationProbe counts every malloc of its process: 100,000 samples through a publish-subscribe
/// service (loan, write, send, receive, release) and 100,000 events (notify, tryWait) must not add
/// a single one, as for the ring ("no heap allocation per message" in SPSCRingTests); nor the async
/// receive paths on a busy stream (`values(of:)`, `for try await bytes`, `nextSample()`, a
/// listener's `for try await`), which find each message there and do not suspend.
@Suite("No heap allocation per sample or event")
struct ChannelAllocationTests {
    @Test(
        "publish-subscribe and events", .disabled(if: Sanitizer.isActive, "a sanitizer replaces malloc itself"),
        arguments: [
            ("publish-subscribe", 64), ("publish-subscribe", 1000), ("events", 0),
            ("publish-subscribe-async", 64), ("publish-subscribe-async", 1000), ("events-async", 0),
        ])
    func noAllocation(channel: String, size: Int) throws {
        let address = try TestNames.address(.posix, "alloc")
        defer { cleanUp(address) }
        let result = try ChildProcess("AllocationProbe", ["\(address)", "100000", "\(size)", channel]).finish()
        #expect(result.status == 0, "\(result.errors)")
        let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        // The control: one malloc outside the loop is seen, so the zero below means something.
        #expect(lines.first.flatMap { Int($0.dropFirst("control ".count)) }.map { $0 >= 1 } == true, "\(lines)")
        #expect(lines.last == "allocations 0 in 100000 messages")
    }
}
