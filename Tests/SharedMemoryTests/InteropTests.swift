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
        case .posix(let name): return ("posix", "/" + name)
        case .file(let path): return ("file", path.string)
        default: throw PeerFailure("no C name for \(address)")
        }
    }

    static func fixture(_ steps: [String]) throws -> ChildProcess {
        try ChildProcess("InteropFixture", steps)
    }

    @Test("a region C made is opened by the library with its size and bytes", arguments: named)
    func cCreatesLibraryOpens(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "interop")
        defer { cleanUp(address) }
        let (prefix, name) = try Self.cName(address)
        // An odd size: the library must report what C asked, not a page-rounded one.
        try Self.fixture(["\(prefix)-create", name, "5000", "640", "write", "4990", "0a0b0c0d"]).expectSuccess()

        let region = try SharedMemory.open(address, mode: .open)
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
        let region = try SharedMemory.open(address, size: 12345, mode: .create)
        try region.write(Array("from swift".utf8), at: 12000)

        let c = try Self.fixture([
            "\(prefix)-open", name, "size", "expect", "12000", hex(Array("from swift".utf8)), "write", "7", "c0de", "remove",
        ])
        #expect(try c.readLine() == "size 12345")
        try c.expectSuccess()
        #expect(try region.read(at: 7, count: 2) == [0xC0, 0xDE])
        // C removed the name; the library sees it gone.
        #expect((#expect(throws: SharedMemoryError.self) { try SharedMemory.status(of: address) })?.code == .notFound)
    }

    @Test("a semaphore set C made shows in the inventory with its count, mode and owner", .enabled(if: SharedRegionBackend.systemV.isAvailable))
    func semaphoreSetFromC() throws {
        let key = try #require({ () -> Int32? in
            if case .systemV(.key(let key)) = try TestNames.address(.systemV, "sem") { return key }
            return nil
        }())
        let cKey = "0x" + String(UInt32(bitPattern: key), radix: 16)
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
}

struct PeerFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
