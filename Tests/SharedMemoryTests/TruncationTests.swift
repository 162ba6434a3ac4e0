#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import Testing

/// Another process makes a POSIX or file object smaller than this process's mapping: the
/// library's copying calls answer `.truncated` instead of dying of SIGBUS, and every SIGBUS that
/// is not theirs still goes where it went before.
@Suite("Truncation")
struct TruncationTests {
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// A region of four pages, filled, then cut to one page by a peer.
    static func cutRegion(_ backend: SharedRegionBackend) throws -> (RegionAddress, any SharedRegion) {
        let address = try TestNames.address(backend, "cut")
        let region = try SharedRegions.open(address, size: 4 * page, mode: .create)
        try region.write([UInt8](repeating: 0x5A, count: 4 * page))
        try ChildProcess.peer("open", "\(address)", "truncate", "\(page)").expectSuccess()
        return (address, region)
    }

    @Test("a region another process cut short: read, write, load, store and their array forms are .truncated, not SIGBUS",
          arguments: [SharedRegionBackend.posix, .file])
    func copyingCalls(backend: SharedRegionBackend) throws {
        let (address, region) = try Self.cutRegion(backend)
        defer { cleanUp(address) }
        let gone = 2 * Self.page
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.page, alignment: 16)
        defer { buffer.deallocate() }
        let calls: [(name: String, call: () throws -> Void)] = [
            // Sizes the guard copies in each of its two ways (rep movsb where it is fast, sigsetjmp between).
            ("read", { _ = try region.read(at: gone, count: 16) }),
            ("read of 1000 bytes", { _ = try region.read(at: gone, count: 1000) }),
            ("write of 1000 bytes", { try region.write([UInt8](repeating: 1, count: 1000), at: gone) }),
            ("read across the cut", { _ = try region.read() }),
            ("read into a buffer", { try region.read(at: gone, into: buffer) }),
            ("read in chunks (shm read)", { try region.read(chunkByteCount: Self.page) { _ in } }),
            ("write", { try region.write([1, 2, 3], at: gone) }),
            ("write across the cut", { try region.write([UInt8](repeating: 1, count: 2 * Self.page), at: Self.page / 2) }),
            ("load", { _ = try region.load(UInt64.self, at: gone + 8) }),
            ("store", { try region.store(UInt64(1), at: gone + 8) }),
            ("loadArray", { _ = try region.loadArray(of: UInt32.self, at: gone, count: 4) }),
            ("storeArray", { try region.storeArray([1.0, 2.0], at: gone) }),
        ]
        for (name, call) in calls {
            // Twice: after the first, SIGBUS must be deliverable again (the handler was left by a jump).
            for _ in 1...2 {
                let error = #expect(throws: SharedMemoryError.self, "\(name)") { try call() }
                #expect(error?.code == .truncated, "\(name): \(String(describing: error))")
                #expect(error?.hint.contains("memfd") == true)
            }
        }
        // What is left is still there, and still writable.
        #expect(try region.read(at: 0, count: 4) == [0x5A, 0x5A, 0x5A, 0x5A])
        try region.store(UInt32(7), at: 0)
        #expect(try region.load(UInt32.self, at: 0) == 7)
    }

    @Test("the ring's copying send and receive are .truncated too, where another process cut the ring short")
    func ring() throws {
        let capacity = 1 << 16
        // A record's length lies before the cut, its bytes across it: the copy is what meets it.
        let message = [UInt8](repeating: 0x42, count: 12_000)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: message.count, alignment: 16)
        defer { buffer.deallocate() }
        for sending in [true, false] {
            let address = try TestNames.address(.posix, "cut")
            defer { cleanUp(address) }
            let region = try SharedRegions.open(address, size: SPSCRing.byteCount(capacity: capacity), mode: .create)
            try SPSCRing.initialize(in: region, capacity: capacity)
            var producer = try SPSCRing.Producer(in: region)
            var consumer = try SPSCRing.Consumer(in: region)
            if !sending { #expect(try message.withUnsafeBytes { try producer.trySend($0) }) }
            try ChildProcess.peer("open", "\(address)", "truncate", "\(2 * Self.page)").expectSuccess()
            let error = #expect(throws: SharedMemoryError.self) {
                if sending {
                    _ = try message.withUnsafeBytes { try producer.trySend($0) }
                } else {
                    _ = try consumer.tryReceive(into: buffer)
                }
            }
            #expect(error?.code == .truncated, "\(sending ? "send" : "receive"): \(String(describing: error))")
            #expect(error?.operation == (sending ? "SPSCRing.send" : "SPSCRing.receive"))
        }
    }

    @Test("the error says which bytes are gone")
    func message() throws {
        let (address, region) = try Self.cutRegion(.posix)
        defer { cleanUp(address) }
        let error = #expect(throws: SharedMemoryError.self) { try region.read(at: 3 * Self.page, count: 10) }
        #expect(error?.operation == "read")
        #expect(error?.message.contains("bytes \(3 * Self.page)..<\(3 * Self.page + 10) of the region's \(4 * Self.page)") == true)
    }

    /// The steps of a peer that opens `address`, waits for the test to cut it, reads the cut part
    /// through a guarded copy (which must answer .truncated), then touches it through the raw pointer.
    static func victim(_ address: RegionAddress, before: [String] = [], between: [String] = []) -> [String] {
        before + ["open", "\(address)", "say", "ready", "wait", "fails", "truncated", "read-at", "\(2 * page)", "16"]
            + between + ["touch", "\(2 * page)"]
    }

    /// Starts `steps` in a peer, cuts the region to one page once it is ready, and lets it go on.
    static func runCut(_ region: any SharedRegion, _ steps: [String]) throws -> (status: Int32, output: String) {
        // No handler of the Swift runtime's (crash reports) or a sanitizer's: the default action is
        // under test, and the peer's own handlers.
        var environment = ["SWIFT_BACKTRACE": "enable=no"]
        for sanitizer in ["ASAN_OPTIONS", "TSAN_OPTIONS"] {
            environment[sanitizer] = (getenv(sanitizer).map { String(cString: $0) + ":" } ?? "") + "handle_sigbus=0"
        }
        let peer = try ChildProcess("SharedMemoryTestPeer", steps, environment: environment)
        #expect(try peer.readLine() == "ready")
        try #require(region as? any ResizableRegion).resize(to: page)
        try peer.send("go")
        let result = try peer.finish()
        return (result.status, String(decoding: result.output, as: UTF8.self))
    }

    @Test("a SIGBUS outside a guarded copy reaches the handler the program installed before", arguments: ["siginfo", "plain"])
    func previousHandler(kind: String) throws {
        let address = try TestNames.address(.posix, "cut")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4 * Self.page, mode: .create)
        let (status, output) = try Self.runCut(region, Self.victim(address, before: ["sigbus-handler", kind]))
        #expect(status == 0, "\(output)")
        #expect(output.contains("made the object smaller"), "the guarded read was not .truncated: \(output)")
        #expect(output.contains(kind == "siginfo" ? "siginfo handler: SIGBUS of an access" : "plain handler: SIGBUS"))
        #expect(!output.contains("touched"))
    }

    @Test("without a handler of the program's, a SIGBUS outside a guarded copy kills as before; a sent one stays ignored if it was",
          arguments: ["default", "ignore"])
    func defaultAction(kind: String) throws {
        let address = try TestNames.address(.posix, "cut")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4 * Self.page, mode: .create)
        let steps = kind == "ignore"
            ? Self.victim(address, before: ["sigbus-handler", "ignore"], between: ["raise-sigbus"])
            : Self.victim(address)
        let (status, output) = try Self.runCut(region, steps)
        #expect(status == 128 + SIGBUS, "\(output)")
        #expect(output.contains("made the object smaller"), "the guarded read was not .truncated: \(output)")
        #expect(output.contains("survived") == (kind == "ignore"))
        #expect(!output.contains("touched"))
    }
}
