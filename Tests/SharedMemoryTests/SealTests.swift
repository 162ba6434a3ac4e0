#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage
import Testing

/// memfd seals: what a sender can no longer do, and a receiver that refuses to map without them.
@Suite("Seals", .enabled(if: SharedRegionBackend.memfd.isAvailable))
struct SealTests {
    /// A connected Unix socket pair: ours, and the one the peer gets as descriptor 3.
    static func socketPair() throws -> (mine: FileDescriptor, theirs: FileDescriptor) {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw Errno(rawValue: errno)
        }
        return (FileDescriptor(rawValue: pair[0]), FileDescriptor(rawValue: pair[1]))
    }

    static func peer(_ steps: String..., sending region: MemfdRegion) throws -> ChildProcess {
        let (mine, theirs) = try socketPair()
        defer { try? mine.close() }
        let peer = try ChildProcess("SharedMemoryTestPeer", steps, passing: theirs)
        try theirs.close()
        try region.send(over: mine)
        return peer
    }

    @Test("a receiver that demands F_SEAL_SHRINK refuses an unsealed memfd, before mapping it")
    func unsealedIsRefused() throws {
        let region = try MemfdRegion(name: TestNames.unique("seal"), size: 8192)
        #expect(try region.seals == [])
        let peer = try Self.peer("fails", "missingSeals", "receive-sealed", "3", "shrink", "fds", sending: region)
        let result = try peer.finish()
        #expect(result.status == 0, "\(result.errors)")
        let output = String(decoding: result.output, as: UTF8.self)
        #expect(output.contains("lacks shrink"), "\(output)")
        // The refused descriptor was closed, not kept.
        #expect(!output.contains("/memfd:"), "\(output)")
    }

    @Test("a memfd sealed against shrinking and growing is accepted, and cannot change size")
    func sealedCannotResize() throws {
        let region = try MemfdRegion(name: TestNames.unique("seal"), size: 8192)
        try region.write(Array("sealed".utf8), at: 8000)
        try region.seal([.shrink, .grow])
        #expect(try region.seals == [.shrink, .grow])
        let peer = try Self.peer("receive-sealed", "3", "shrink,grow", "expect", "8000", hex(Array("sealed".utf8)), sending: region)
        try peer.expectSuccess()

        for size in [4096, 16384] {
            let error = #expect(throws: SharedMemoryError.self) { try region.resize(to: size) }
            #expect(error?.code == .permissionDenied)
        }
        // The refused resizes left the mapping whole.
        #expect(region.byteCount == 8192)
        #expect(try region.read(at: 8000, count: 6) == Array("sealed".utf8))
        #expect(try region.status().byteCount == 8192)
    }

    @Test("sealing against writes turns the own mapping read-only in place; receivers map it read-only")
    func writeSeal() throws {
        let region = try MemfdRegion(name: TestNames.unique("seal"), size: 4096)
        try region.write(Array("final".utf8), at: 0)
        let base = region.mapping.baseAddress
        try region.seal([.write, .shrink, .grow, .seal])
        #expect(region.access == .readOnly)
        #expect(region.mapping.baseAddress == base)
        #expect(try region.read(at: 0, count: 5) == Array("final".utf8))
        #expect((#expect(throws: SharedMemoryError.self) { try region.write([1], at: 0) })?.code == .readOnly)
        let more = #expect(throws: SharedMemoryError.self) { try region.seal(.grow) }
        #expect(more?.code == .permissionDenied)

        let peer = try Self.peer(
            "receive-sealed", "3", "write,shrink", "ro", "expect", "0", hex(Array("final".utf8)), sending: region)
        try peer.expectSuccess()
    }

    @Test("F_SEAL_WRITE while another process maps the memory writable is a typed busy error")
    func writeSealWhileMapped() throws {
        let region = try MemfdRegion(name: TestNames.unique("seal"), size: 4096)
        let peer = try Self.peer("receive-memfd", "3", "say", "mapped", "wait", sending: region)
        #expect(try peer.readLine() == "mapped")
        let error = #expect(throws: SharedMemoryError.self) { try region.seal(.write) }
        #expect(error?.code == .busy)
        #expect(error?.hint.contains("seal before sending") == true)
        // The refusal left this region as it was.
        #expect(region.access == .readWrite)
        try region.write([7], at: 0)
        #expect(try region.seals == [])
        try peer.send("done")
        try peer.expectSuccess()
    }
}
