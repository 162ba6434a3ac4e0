#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage
import Testing

/// A second process really opens what this one made, and the other way round.
@Suite("Across processes")
struct CrossProcessTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }

    @Test("the peer reads what the test wrote and answers", arguments: named)
    func peerVerifiesAndAnswers(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 1 << 20, mode: .create)
        let message: [UInt8] = Array("hello from the test".utf8)
        try region.write(message, at: 0)
        try region.write([0xEE], at: (1 << 20) - 1)
        let peer = try ChildProcess.peer(
            "open", "\(address)", "expect", "0", hex(message), "expect", "\((1 << 20) - 1)", "ee",
            "write", "4096", hex(Array("answer".utf8)))
        try peer.expectSuccess()
        #expect(try region.read(at: 4096, count: 6) == Array("answer".utf8))
    }

    @Test("the test reads what the peer made and answers", arguments: named)
    func testVerifiesPeerRegion(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let peer = try ChildProcess.peer(
            "create", "\(address)", "65536", "write", "10", "0102030405", "say", "address", "wait",
            "expect", "20", "aabbcc", "remove")
        let reported = try #require(try peer.readLine())
        #expect(reported == address.description)
        let region = try SharedRegions.open(address, mode: .open)
        #expect(!region.created)
        #expect(region.byteCount == 65536)
        #expect(try region.read(at: 10, count: 5) == [1, 2, 3, 4, 5])
        try region.write([0xAA, 0xBB, 0xCC], at: 20)
        try peer.send("go")
        try peer.expectSuccess()
        // The peer removed the name; our mapping still works.
        #expect(throws: SharedMemoryError.self) { try SharedRegions.open(address, mode: .open) }
        #expect(try region.read(at: 20, count: 3) == [0xAA, 0xBB, 0xCC])
    }

    @Test("a read-only peer cannot write", arguments: named)
    func readOnlyPeer(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 64, mode: .create)
        try region.write([9], at: 0)
        let peer = try ChildProcess.peer("open", "\(address)", "ro", "expect", "0", "09", "write", "0", "01")
        let result = try peer.finish()
        #expect(result.status == 2)
        #expect(result.errors.contains("read-only"))
        #expect(try region.read(at: 0, count: 1) == [9])
    }

    @Test("a memfd reaches the peer over a Unix socket", .enabled(if: SharedRegionBackend.memfd.isAvailable))
    func memfdOverSocket() throws {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        let (mine, theirs) = (FileDescriptor(rawValue: pair[0]), FileDescriptor(rawValue: pair[1]))
        defer { try? mine.close() }
        let region = try MemfdRegion(name: TestNames.unique("memfd"), size: 10_000)
        try region.write(Array("over the socket".utf8), at: 0)
        let peer = try ChildProcess.peer(
            "receive-memfd", "3", "say", "address", "expect", "0", hex(Array("over the socket".utf8)),
            "write", "9000", "beef", passing: theirs)
        try theirs.close()
        try region.send(over: mine)
        #expect(try peer.readLine() == region.address.description)
        try peer.expectSuccess()
        #expect(try region.read(at: 9000, count: 2) == [0xBE, 0xEF])
    }

    @Test("System V attach count goes 1, 2, 1 as a peer attaches and detaches", .enabled(if: SharedRegionBackend.systemV.isAvailable))
    func attachCount() throws {
        let address = try TestNames.address(.systemV)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        #expect(try region.status().attachCount == 1)
        let peer = try ChildProcess.peer("open", "\(address)", "say", "attached", "wait", "close", "say", "detached", "wait")
        #expect(try peer.readLine() == "attached")
        let attached = try region.status()
        #expect(attached.attachCount == 2)
        #expect(attached.lastProcessID == peer.pid)
        #expect(attached.creatorProcessID == getpid())
        try peer.send("detach")
        #expect(try peer.readLine() == "detached")
        #expect(try region.status().attachCount == 1)
        try peer.expectSuccess()
    }

    /// The seed article's example: `ipcs -m` shows nattch 1 while attached, then 0 after
    /// `shmdt`, and the segment is gone after `IPC_RMID`.
    @Test("ipcs -m shows the attach count going 1 then 0", .enabled(if: SharedRegionBackend.systemV.isAvailable))
    func seedExampleSeenWithIpcs() throws {
        let key = SystemVIdentifier.key(Int32(bitPattern: 0x3663_0000 | UInt32(getpid() & 0xFFFF)))
        let address = RegionAddress.systemV(key)
        defer { cleanUp(address) }
        var region: SystemVRegion? = try SystemVRegion(key, size: 1028, mode: .create, permissions: [.ownerReadWrite, .groupRead])
        let id = try #require(region?.id)
        try region?.write(Array("gatieme".utf8) + [0, 0, 0, 1], at: 0)
        #expect(try Ipcs.attachCount(id: id) == 1)
        #expect(try Ipcs.row(id: id)?.perms == "640")
        #expect(try Ipcs.row(id: id)?.bytes == "1028")
        region = nil  // shmdt
        #expect(try Ipcs.attachCount(id: id) == 0)
        try SharedRegions.remove(address)
        #expect(try Ipcs.row(id: id) == nil)
    }
}

/// `ipcs -m`, run as a separate program, as the seed example does with `system("ipcs -m")`.
enum Ipcs {
    struct Row: Equatable {
        var key: String, id: String, owner: String, perms: String, bytes: String, attachCount: String
    }

    static func row(id: Int32) throws -> Row? {
        let ipcs = try ChildProcess(absolute: "/usr/bin/ipcs", ["-m"])
        let result = try ipcs.finish()
        #expect(result.status == 0)
        for line in String(decoding: result.output, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            if fields.count >= 6, fields[1] == "\(id)" {
                return Row(key: fields[0], id: fields[1], owner: fields[2], perms: fields[3], bytes: fields[4], attachCount: fields[5])
            }
        }
        return nil
    }

    static func attachCount(id: Int32) throws -> Int? {
        try row(id: id).flatMap { Int($0.attachCount) }
    }
}
