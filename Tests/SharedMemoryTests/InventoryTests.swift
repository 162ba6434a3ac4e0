#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SharedMemory
import SystemPackage
import Testing

/// `shm list` and `SharedMemoryInventory`: every object on the machine, and the removal of
/// only what crashed processes left.
@Suite("Inventory")
struct InventoryTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }
    static let systemV = SharedRegionBackend.systemV.isAvailable

    static func listed(_ arguments: String...) throws -> [[String: Any]] {
        let result = try ChildProcess("shm", ["list", "--json"] + arguments).finish()
        #expect(result.status == 0, "\(result.errors)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.output)) as? [[String: Any]])
    }

    @Test("list shows this process's regions with the stat keys, kind and creator_alive", arguments: named)
    func listsRegions(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "list")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 5000, mode: .create, permissions: [.ownerReadWrite, .groupRead])
        defer { withExtendedLifetime(region) {} }

        let inLibrary = try SharedMemoryInventory.list(fileDirectory: FilePath(TestNames.fileDirectory))
        let object = try #require(inLibrary.first { $0.status.address == address })
        #expect(object.kind == .region)
        #expect(object.status.byteCount == 5000)
        #expect(object.creatorAlive == (backend == .systemV ? true : nil))
        #expect(!object.isStale)

        let entries = try Self.listed("--backend", backend.rawValue, "--directory", TestNames.fileDirectory)
        let entry = try #require(entries.first { $0["address"] as? String == address.description })
        #expect(entry["backend"] as? String == backend.rawValue)
        #expect(entry["kind"] as? String == "region")
        #expect(entry["size"] as? Int == 5000)
        #expect(entry["permissions"] as? String == "0640")
        #expect(entry["uid"] as? Int == Int(getuid()))
        #expect(entry["gid"] as? Int == Int(getgid()))
        #expect(entry.keys.contains("creator_alive"))
        if backend == .systemV {
            #expect(entry["attach_count"] as? Int == 1)
            #expect(entry["creator_pid"] as? Int == Int(getpid()))
            #expect(entry["creator_alive"] as? Bool == true)
        }
        #expect(entries.allSatisfy { $0["backend"] as? String == backend.rawValue })
    }

    @Test("remove --stale removes a segment whose creator died once nobody has it attached", .enabled(if: systemV))
    func staleSegment() throws {
        let address = try TestNames.address(.systemV, "stale")
        let posix = try TestNames.address(.posix, "stale")
        defer { cleanUp(address); cleanUp(posix) }
        try ChildProcess.peer("create", "\(address)", "4096", "write", "0", "0102").expectSuccess()
        try ChildProcess.peer("create", "\(posix)", "4096").expectSuccess()
        let holder = try ChildProcess.peer("open", "\(address)", "say", "attached", "wait")
        #expect(try holder.readLine() == "attached")

        let dead = try #require(try SharedMemoryInventory.list(backends: [.systemV]).first { $0.status.address == address })
        #expect(dead.creatorAlive == false)
        #expect(dead.status.attachCount == 1)
        #expect(!dead.isStale)
        let kept = try ChildProcess("shm", ["remove", "--stale", "\(address)"]).finish()
        #expect(kept.status == 0 && kept.output.isEmpty, "\(kept.errors)")
        #expect(try SharedRegions.status(of: address).byteCount == 4096)

        try holder.send("go")
        try holder.expectSuccess()
        #expect(SharedMemoryInventory.removeStale(among: [posix]).removed.isEmpty)
        let removed = try ChildProcess("shm", ["remove", "--stale", "\(address)"]).finish()
        #expect(removed.status == 0, "\(removed.errors)")
        let report = String(decoding: removed.output, as: UTF8.self)
        #expect(report.hasPrefix("removed \(address) (id "), "\(report)")
        #expect(report.split(separator: "\n").count == 1)
        #expect((#expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) })?.code == .notFound)
        // A POSIX object records no creator: listed, never stale (`shm remove --stale` refuses it).
        #expect(try SharedRegions.status(of: posix).byteCount == 4096)
    }

    @Test(
        "remove --stale without addresses cleans a whole IPC namespace, and list shows it empty",
        .enabled(if: Privileges.ipcNamespaceUnavailable == nil, "\(Privileges.ipcNamespaceUnavailable ?? "")"))
    func staleInNamespace() throws {
        // In a private IPC namespace, so that no other program's segments are considered (and System V
        // only: /dev/shm is not the namespace's, and other tests' services there have ports dying on purpose).
        let peer = ChildProcess.productsDirectory + "/SharedMemoryTestPeer"
        let shm = ChildProcess.productsDirectory + "/shm"
        let script = "\"$1\" create sysv:0x5a1e 4096 && \"$1\" create sysv:0x5a1f 100 && \"$2\" remove --stale --backend sysv "
            + "&& \"$2\" list --backend sysv --json"
        let result = try ChildProcess(absolute: Privileges.unshare, ["--ipc", "--", "/bin/sh", "-c", script, "sh", peer, shm])
            .finish()
        #expect(result.status == 0, "\(result.errors)")
        let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("removed sysv:0x5a1e (") })
        #expect(lines.contains { $0.hasPrefix("removed sysv:0x5a1f (") })
        #expect(lines.last == "[]")
    }

    @Test("list refuses what it cannot list, with a reason")
    func badListArguments() throws {
        for arguments in [["--backend", "memfd"], ["--backend", "file"], ["--directory", "relative"], ["--backend", "nope"]] {
            let result = try ChildProcess("shm", ["list"] + arguments).finish()
            #expect(result.status != 0 && result.status < 128, "\(arguments)")
            #expect(!result.errors.isEmpty)
        }
        let missing = try ChildProcess("shm", ["list", "--directory", "/nonexistent-\(getpid())"]).finish()
        #expect(missing.status == 1)
        #expect(missing.errors.contains("ENOENT"))
    }
}
