#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage
import Testing

/// A plain C program (Tests/Fixtures/InteropFixture) and the library meet the same objects in
/// both directions: same names and keys, same sizes, same bytes.
@Suite("Interop with C")
struct InteropTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }

    /// The fixture's step prefix (`sysv`, `posix`, `file`) and its C name for `address`.
    static func cName(_ address: RegionAddress) throws -> (prefix: String, name: String) {
        switch address {
        case .systemV(.key(let key)): return ("sysv", "0x" + String(UInt32(bitPattern: key), radix: 16))
        case .posix(let name): return ("posix", name)
        case .file(let path): return ("file", path.string)
        default: throw PeerFailure("no C name for \(address)")
        }
    }

    static func fixture(_ steps: [String]) throws -> ChildProcess {
        try ChildProcess("InteropFixture", steps)
    }

    /// The key of a `sysv:KEY` address as C writes it (`0x5e3a`).
    static func cKey(_ address: RegionAddress) throws -> String {
        guard case .systemV(.key(let key)) = address else { throw PeerFailure("\(address) has no key") }
        return "0x" + String(UInt32(bitPattern: key), radix: 16)
    }

    @Test("a region C made is opened by the library with its size and bytes", arguments: named)
    func cCreatesLibraryOpens(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "interop")
        defer { cleanUp(address) }
        let (prefix, name) = try Self.cName(address)
        // An odd size: the library must report what C asked, not a page-rounded one.
        try Self.fixture(["\(prefix)-create", name, "5000", "640", "write", "4990", "0a0b0c0d"]).expectSuccess()

        let region = try SharedRegions.open(address, mode: .open)
        #expect(region.byteCount == 5000)
        #expect(try region.read(at: 4990, count: 4) == [0x0A, 0x0B, 0x0C, 0x0D])
        #expect(try region.status().permissions == [.ownerReadWrite, .groupRead])
        try region.write(Array("from swift".utf8), at: 0)
        try Self.fixture(["\(prefix)-open", name, "expect", "0", hex(Array("from swift".utf8))]).expectSuccess()
    }

    @Test("a region the library made is opened by C with its size and bytes", arguments: named)
    func libraryCreatesCOpens(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "interop")
        defer { cleanUp(address) }
        let (prefix, name) = try Self.cName(address)
        let region = try SharedRegions.open(address, size: 12345, mode: .create)
        try region.write(Array("from swift".utf8), at: 12000)

        let c = try Self.fixture([
            "\(prefix)-open", name, "size", "expect", "12000", hex(Array("from swift".utf8)), "write", "7", "c0de", "remove",
        ])
        #expect(try c.readLine() == "size 12345")
        try c.expectSuccess()
        #expect(try region.read(at: 7, count: 2) == [0xC0, 0xDE])
        // C removed the name; the library sees it gone.
        #expect((#expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) })?.code == .notFound)
    }

    @Test("a semaphore set C made shows in the inventory with its count, mode and owner", .enabled(if: SharedRegionBackend.systemV.isAvailable))
    func semaphoreSetFromC() throws {
        let address = try TestNames.address(.systemV, "sem")
        guard case .systemV(.key(let key)) = address else { throw PeerFailure("\(address) has no key") }
        let cKey = try Self.cKey(address)
        defer { _ = try? Self.fixture(["sem-open", cKey, "sem-remove"]).finish() }
        try Self.fixture(["sem-create", cKey, "3", "640", "sem-op", "1", "5", "sem-expect", "1", "5"]).expectSuccess()

        let set = try #require(
            try SharedMemoryInventory.list(backends: [.systemV]).first {
                $0.kind == .semaphoreSet && $0.status.address == .systemV(.key(key))
            })
        #expect(set.semaphoreCount == 3)
        #expect(set.status.permissions == [.ownerReadWrite, .groupRead])
        #expect(set.status.ownerUserID == geteuid())
        #expect(set.creatorAlive == nil && !set.isStale)
        // The value C set is still there for the next C process.
        try Self.fixture(["sem-open", cKey, "sem-expect", "1", "5", "sem-op", "1", "-5", "sem-expect", "1", "0"]).expectSuccess()
    }

    @Test("C and Swift processes take turns on one ProcessMutex that C initialized: the count is exact", arguments: named)
    func mutexSharedWithC(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "interop")
        defer { cleanUp(address) }
        let (prefix, name) = try Self.cName(address)
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        try Self.fixture(["\(prefix)-open", name, "mutex-init", "64"]).expectSuccess()
        let mutex = try ProcessMutex(in: region, at: 64)
        let increments = ["mutex-increment", "64", "512", "2000"]
        let processes = try (0..<2).map { _ in try Self.fixture(["\(prefix)-open", name] + increments) }
            + (0..<2).map { _ in try ChildProcess("SharedMemoryTestPeer", ["open", "\(address)"] + increments) }
        for process in processes { try process.expectSuccess() }
        #expect(try region.load(UInt64.self, at: 512) == 8000)
        #expect(try mutex.tryLock() == .acquired)
        try mutex.unlock()
    }

    @Test("a C process holds the mutex: the library's tryLock says busy; killed, the library takes over", arguments: named)
    func mutexHeldByC(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "interop")
        defer { cleanUp(address) }
        let (prefix, name) = try Self.cName(address)
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)

        let holder = try Self.fixture(["\(prefix)-open", name, "mutex-lock", "0", "wait", "mutex-unlock", "0"])
        #expect(try holder.readLine() == "locked")
        #expect(try mutex.tryLock() == nil)
        try holder.send("go")
        try holder.expectSuccess()
        #expect(try mutex.tryLock() == .acquired)
        try mutex.unlock()

        let killed = try Self.fixture(["\(prefix)-open", name, "mutex-lock", "0", "wait"])
        #expect(try killed.readLine() == "locked")
        try killed.kill()
        #expect(try mutex.lock() == .acquiredPreviousOwnerDied)
        try mutex.markConsistent()
        try mutex.unlock()
        try Self.fixture(["\(prefix)-open", name, "mutex-lock", "0", "mutex-unlock", "0"]).expectSuccess()
    }
}

/// Semaphore sets made by other programs the way they make them: `semget`, then `SETVAL` or
/// `SETALL`, and no `semop`. The library and `shm sem op` use them at once, as `semop` from C
/// would, and the values they set are the ones seen.
@Suite("Interop: semaphore sets made by others", .enabled(if: SharedRegionBackend.systemV.isAvailable))
struct SemaphoreInteropTests {
    /// The C routes: creation alone, `SETVAL`, `SETALL`; each with the values it leaves.
    static let cRoutes: [(steps: [String], values: [Int])] = [
        ([], [0, 0]), (["sem-setval", "0", "3"], [3, 0]), (["sem-setall", "2,5"], [2, 5]),
    ]

    @Test("a set C made with semget and SETVAL or SETALL, no semop, is used at once", arguments: 0..<3)
    func fromC(route: Int) throws {
        let (steps, values) = Self.cRoutes[route]
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let key = try InteropTests.cKey(address)
        try InteropTests.fixture(["sem-create", key, "2", "600"] + steps).expectSuccess()

        let set = try SystemVSemaphoreSet(address, mode: .open)
        #expect(set.count == 2 && !set.created)
        #expect(try set.values() == values)
        #expect(try set.status().lastOperationTime == nil)  // no semop: nothing waited for a stamp
        try Self.useFromShell(address, values: values)
        try InteropTests.fixture(["sem-open", key, "sem-expect", "1", "\(values[1] + 1)"]).expectSuccess()
    }

    @Test(
        "a set Perl made with semget and SETALL is used at once",
        .enabled(if: access(SemaphoreInteropTests.perl, X_OK) == 0, "needs \(SemaphoreInteropTests.perl)"))
    func fromPerl() throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let script = """
            use IPC::SysV qw(IPC_CREAT IPC_EXCL SETALL);
            my $id = semget($ARGV[0], 2, IPC_CREAT | IPC_EXCL | 0600) // die "semget: $!";
            semctl($id, 0, SETALL, pack("s!*", 4, 1)) or die "semctl: $!";
            """
        let perl = try ChildProcess(absolute: Self.perl, ["-e", script, "--", try Self.signedKey(address)])
        try perl.expectSuccess()
        let set = try SystemVSemaphoreSet(address, mode: .open)
        #expect(try set.values() == [4, 1])
        try Self.useFromShell(address, values: [4, 1])
    }

    @Test(
        "a set Python's sysv_ipc made with IPC_CREX and initial_value is used at once",
        .enabled(if: SemaphoreInteropTests.pythonSysvIPC == nil, "\(SemaphoreInteropTests.pythonSysvIPC ?? "")"))
    func fromPython() throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let script = "import sys, sysv_ipc; sysv_ipc.Semaphore(int(sys.argv[1]), sysv_ipc.IPC_CREX, initial_value=3)"
        let python = try ChildProcess("python3", ["-c", script, try Self.signedKey(address)], searchingPath: true)
        try python.expectSuccess()
        let set = try SystemVSemaphoreSet(address, mode: .open)
        #expect(set.count == 1)
        #expect(try set.values() == [3])
        let op = try ChildProcess("shm", ["sem", "op", address.description, "0:-3", "--nowait"]).finish()
        #expect(op.status == 0, "\(op.errors)")
        #expect(try set.values() == [0])
    }

    static let perl = "/usr/bin/perl"

    /// The key in decimal as a signed C `key_t`: Perl and `sysv_ipc` take it so.
    static func signedKey(_ address: RegionAddress) throws -> String {
        guard case .systemV(.key(let key)) = address else { throw PeerFailure("\(address) has no key") }
        return String(key)
    }

    /// Why the Python test cannot run here (no `python3`, or no `sysv_ipc`), or nil.
    static let pythonSysvIPC: String? = {
        guard let probe = try? ChildProcess("python3", ["-c", "import sysv_ipc"], searchingPath: true),
            let result = try? probe.finish()
        else { return "needs python3 on PATH" }
        return result.status == 0 ? nil : "needs the Python module sysv_ipc (pip install sysv_ipc)"
    }()

    /// `shm sem op` takes from semaphore 0 without waiting and gives one to semaphore 1.
    static func useFromShell(_ address: RegionAddress, values: [Int]) throws {
        let take = values[0] > 0 ? ["0:-\(values[0])"] : ["0:0"]
        let op = try ChildProcess("shm", ["sem", "op", address.description, "--nowait"] + take + ["1:+1"]).finish()
        #expect(op.status == 0, "\(op.errors)")
        let get = try ChildProcess("shm", ["sem", "get", address.description]).finish()
        #expect(String(decoding: get.output, as: UTF8.self) == "0 \(values[1] + 1)\n")
    }
}

struct PeerFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
