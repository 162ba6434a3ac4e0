#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import SharedMemory
import SystemPackage
import Testing

/// Asking for more than the system can give is a typed error naming the limit, before
/// anything is made; a full filesystem never turns into SIGBUS.
@Suite("Capacity")
struct CapacityTests {
    static let segmentLimits: [(setting: String, value: String, steps: [String])] = [
        ("shmmax", "100000", ["fails", "limitExceeded", "create", "sysv:0x5a11", "100001"]),
        ("shmall", "4", ["create", "sysv:0x5a11", "12288", "fails", "limitExceeded", "create", "sysv:0x5a12", "8192"]),
        ("shmmni", "1", ["create", "sysv:0x5a11", "4096", "fails", "limitExceeded", "create", "sysv:0x5a12", "4096"]),
    ]

    @Test(
        "a System V segment beyond shmmax, shmall or shmmni is refused naming the limit",
        .enabled(if: Privileges.ipcNamespaceUnavailable == nil, "\(Privileges.ipcNamespaceUnavailable ?? "")"),
        arguments: 0..<segmentLimits.count)
    func systemVLimits(index: Int) throws {
        // In a private IPC namespace: the machine's limits and segments are not touched, and
        // the namespace's segments go with it.
        let (setting, value, steps) = Self.segmentLimits[index]
        let result = try Privileges.peerInIPCNamespace(setting: setting, value: value, steps).finish()
        #expect(result.status == 0, "\(result.errors)")
        let message = String(decoding: result.output, as: UTF8.self)
        #expect(message.contains("kernel.\(setting) is \(value)"), "\(message)")
        #expect(message.contains("sysctl kernel.\(setting)="), "\(message)")
    }

    /// Within `shmmax` and `shmall`, `shmget` can still refuse with `ENOMEM`: the kernel's
    /// memory accounting will not commit that much (unless it is told to overcommit always).
    @Test(
        "a System V segment the kernel cannot commit memory for names shmmax, shmall and the memory",
        .enabled(
            if: SharedRegionBackend.systemV.isAvailable && CapacityTests.beyondMemory != nil,
            "needs vm.overcommit_memory 0 or 2"))
    func systemVBeyondMemory() throws {
        let address = try TestNames.address(.systemV, "enomem")
        defer { cleanUp(address) }
        let size = try #require(Self.beyondMemory)
        let result = try ChildProcess.peer("fails", "noSpace", "create", "\(address)", "\(size)").finish()
        #expect(result.status == 0, "\(result.errors)")
        let message = String(decoding: result.output, as: UTF8.self)
        #expect(message.contains("ENOMEM"), "\(message)")
        #expect(message.contains("kernel.shmmax (") && message.contains("kernel.shmall ("), "\(message)")
        #expect(message.contains("MemAvailable + SwapFree") && message.contains("overcommit"), "\(message)")
    }

    /// Twice the RAM and swap, when the kernel refuses to commit that (overcommit mode 0 or 2)
    /// and the System V limits allow it; nil otherwise.
    static let beyondMemory: Int? = {
        guard SystemFile.contents("/proc/sys/vm/overcommit_memory")?.trimmingWhitespace != "1",
            let table = SystemFile.contents("/proc/meminfo")
        else { return nil }
        let kibibytes = table.split(separator: "\n").filter { $0.hasPrefix("MemTotal:") || $0.hasPrefix("SwapTotal:") }
            .compactMap { $0.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { Int($0) } }.reduce(0, +)
        let size = 2 * kibibytes * 1024
        let limits = SystemVLimits.current()
        guard let shmmax = limits.shmmax, let shmall = limits.shmall, UInt64(size) <= shmmax,
            UInt64(size / PageSize.bytes) < shmall / 2
        else { return nil }
        return size
    }()

    @Test("semaphore sets beyond SEMMSL, SEMMNS or SEMMNI are refused naming the limit")
    func semaphoreLimits() throws {
        let address = RegionAddress.systemV(.key(0x5e4))
        let limits = SemaphoreLimits(semaphoresPerSet: 250, semaphoresInSystem: 1000, operationsPerCall: 32, sets: 2)
        let one = SystemVTable.SemaphoreSet(
            key: 1, id: 1, mode: 0o600, count: 600, uid: 0, gid: 0, creatorUID: 0, operationTime: 0, changeTime: 0)
        var small = one
        small.count = 1
        try Capacity.checkSemaphoreSet(of: 250, address, limits: limits, existing: [one])
        let refusals: [(() throws(SharedMemoryError) -> Void, String)] = [
            ({ () throws(SharedMemoryError) in try Capacity.checkSemaphoreSet(of: 251, address, limits: limits, existing: []) }, "SEMMSL (per set) is 250"),
            ({ () throws(SharedMemoryError) in try Capacity.checkSemaphoreSet(of: 250, address, limits: limits, existing: [one, one]) }, "SEMMNS is 1000"),
            ({ () throws(SharedMemoryError) in try Capacity.checkSemaphoreSet(of: 1, address, limits: limits, existing: [small, small]) }, "SEMMNI is 2"),
        ]
        for (check, named) in refusals {
            let error = #expect(throws: SharedMemoryError.self) { try check() }
            #expect(error?.code == .limitExceeded)
            #expect(error?.message.contains(named) == true, "\(String(describing: error))")
        }
        // The machine's own limits are read (every Linux with System V IPC has them).
        if SharedRegionBackend.systemV.isAvailable {
            let current = SystemVLimits.current()
            #expect(current.shmmax != nil && current.shmall != nil && current.shmmni != nil)
            #expect(SemaphoreLimits.current() != nil)
        }
    }

    @Test(
        "a full tmpfs: creation fails with the capacity error, no SIGBUS, nothing left",
        .enabled(if: geteuid() == 0 && Privileges.hasSystemAdministration, "needs root and CAP_SYS_ADMIN to mount a tmpfs"))
    func fullFilesystem() throws {
        let directory = "\(TestNames.fileDirectory)/\(TestNames.unique("tmpfs"))"
        #expect(mkdir(directory, 0o700) == 0)
        defer { rmdir(directory) }
        try #require(mount("tmpfs", directory, "tmpfs", 0, "size=1m,mode=0700") == 0, "mount: \(Errno(rawValue: errno))")
        defer { umount2(directory, Int32(MNT_DETACH)) }

        // In a peer, so that a SIGBUS, were there one, would show in its exit status rather
        // than end this test run. It fills the first region to the last byte afterwards.
        let first = "file:\(directory)/first", second = "file:\(directory)/second"
        let peer = try ChildProcess.peer(
            "create", first, "\(700 * 1024)", "fails", "noSpace", "create", second, "\(700 * 1024)", "fill", "a5",
            "fails", "noSpace", "create", second, "\(2 << 20)")
        let result = try peer.finish()
        #expect(result.status == 0, "peer status \(result.status): \(result.errors)")
        let message = String(decoding: result.output, as: UTF8.self)
        #expect(message.contains("\(directory) has"), "\(message)")
        #expect(try Self.entries(of: directory) == ["first"])
        #expect(try SharedRegions.status(of: RegionAddress(parsing: first)).byteCount == 700 * 1024)
        let reopened = try SharedRegions.open(first, mode: .open, access: .readOnly)
        #expect(try reopened.read(at: 700 * 1024 - 1, count: 1) == [0xA5])
        try reopened.remove()
        #expect(try Self.entries(of: directory).isEmpty)
    }

    static func entries(of directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }
}
