#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage
import Testing

/// Bad input gets a typed error that says what is wrong, and leaves nothing behind.
@Suite("Bad input")
struct BadInputTests {
    @Test(
        "malformed addresses are refused with a reason",
        arguments: [
            "", "posix", "posix:", "posix:orders", "posix:/", "posix:/a/b", "posix:/" + String(repeating: "x", count: 256),
            "posix:/..", "nope:/x", "POSIX:/x", "sysv:", "sysv:0", "sysv:0x0", "sysv:-", "sysv:0x1000000000",
            "sysv:12ab", "sysv:ftok:", "sysv:ftok:/tmp", "sysv:ftok:/tmp#0", "sysv:ftok:/tmp#256", "sysv:ftok:rel#1",
            "sysv:id=", "sysv:id=-1", "sysv:id=x", "file:", "file:relative/path", "file:/", "file:/tmp/", "file:/tmp/..",
            "memfd:", "memfd:a/b", "memfd:" + String(repeating: "m", count: 250),
        ])
    func malformedAddress(text: String) throws {
        let error = #expect(throws: SharedMemoryError.self) { try RegionAddress(parsing: text) }
        #expect(error?.code == .invalidAddress)
        #expect(error?.hint.contains("posix:/NAME") == true)
        #expect(RegionAddress(text) == nil)
        #expect(throws: SharedMemoryError.self) { try SharedRegions.open(text, size: 64) }
    }

    @Test("a POSIX name of exactly 255 bytes works")
    func longestPOSIXName() throws {
        let name = TestNames.unique("long")
        let padded = name + String(repeating: "n", count: 255 - name.utf8.count)
        let address = try RegionAddress(parsing: "posix:/" + padded)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 10, mode: .create)
        #expect(region.address == address)
    }

    @Test("an unknown backend name is refused")
    func unknownBackend() throws {
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegionBackend(parsing: "shmem") }
        #expect(error?.code == .invalidArgument)
        #expect(error?.hint.contains("sysv, posix, file, memfd") == true)
        #expect(try SharedRegionBackend(parsing: "SystemV") == .systemV)
    }

    @Test("sizes of 0 and below are refused before anything is made", arguments: SharedRegionBackend.available, [0, -1, Int.min])
    func nonPositiveSize(backend: SharedRegionBackend, size: Int) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open(address, size: size, mode: .create) }
        #expect(error?.code == .invalidSize)
        if backend.capabilities.contains(.named) {
            let lookup = #expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) }
            #expect(lookup?.code == .notFound)
        }
    }

    @Test("creating without a size says a size is needed", arguments: SharedRegionBackend.available)
    func createWithoutSize(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open(address, mode: .create) }
        #expect(error?.code == .invalidSize)
    }

    @Test("a size beyond the machine is refused and leaves nothing", arguments: SharedRegionBackend.available)
    func absurdSize(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let error = #expect(throws: SharedMemoryError.self) {
            try SharedRegions.open(address, size: 1 << 50, mode: .create)
        }
        #expect(error != nil)
        if backend.capabilities.contains(.named) {
            #expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) }
        }
    }

    @Test("opening what does not exist is .notFound", arguments: SharedRegionBackend.available.filter { $0.capabilities.contains(.named) })
    func openMissing(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open(address, mode: .open) }
        #expect(error?.code == .notFound)
        #expect(error?.address == address.description)
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.description.contains("ENOENT") == true)
    }

    @Test("a System V id that does not exist is refused")
    func missingSystemVID() throws {
        let error = #expect(throws: SharedMemoryError.self) {
            try SharedRegions.open(.systemV(.id(Int32.max - 1)), mode: .open)
        }
        #expect(error?.code == .invalidArgument || error?.code == .notFound)
    }

    @Test("sysv:private only creates, sysv:id= only opens")
    func privateAndIDModes() throws {
        #expect(throws: SharedMemoryError.self) { try SharedRegions.open("sysv:private", size: 10, mode: .open) }
        #expect(throws: SharedMemoryError.self) { try SharedRegions.open("sysv:private", size: 10, mode: .openOrCreate) }
        #expect(throws: SharedMemoryError.self) { try SharedRegions.open("sysv:id=1", size: 10, mode: .create) }
        let region = try SharedRegions.open("sysv:private", size: 10, mode: .create)
        defer { try? region.remove() }
        guard case .systemV(.id(let id)) = region.address else {
            Issue.record("a private segment reports sysv:id=N, not \(region.address)")
            return
        }
        try region.write([3], at: 0)
        let again = try SharedRegions.open(.systemV(.id(id)), mode: .open)
        #expect(try again.read(at: 0, count: 1) == [3])
    }

    @Test("ftok needs an existing path")
    func ftokMissingPath() throws {
        let error = #expect(throws: SharedMemoryError.self) {
            try SharedRegions.open("sysv:ftok:/nonexistent/\(TestNames.unique())#1", size: 10)
        }
        #expect(error?.code == .notFound)
        #expect(error?.hint.contains("ftok needs") == true)
    }

    @Test("ftok addresses reach the same segment as the key ftok computes")
    func ftokMatchesKey() throws {
        let path = "/tmp/\(TestNames.unique("ftok"))"
        let descriptor = try FileDescriptor.open(path, .writeOnly, options: [.create, .exclusiveCreate], permissions: .ownerReadWrite)
        try descriptor.close()
        defer { unlink(path) }
        let region = try SharedRegions.open("sysv:ftok:\(path)#7", size: 64, mode: .create)
        defer { try? region.remove() }
        let key = ftok(path, 7)
        let byKey = try SharedRegions.open(.systemV(.key(key)), mode: .open)
        try region.write([0x77], at: 0)
        #expect(try byKey.read(at: 0, count: 1) == [0x77])
    }

    @Test("a file path that is a directory is refused")
    func directoryPath() throws {
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open("file:/tmp", mode: .open) }
        #expect(error?.code == .wrongObjectType)
        let create = #expect(throws: SharedMemoryError.self) { try SharedRegions.open("file:/tmp", size: 10, mode: .create) }
        #expect(create?.code == .alreadyExists)
    }

    @Test("a file path that is a symbolic link is refused, and the target is untouched")
    func symlinkPath() throws {
        let target = "/tmp/\(TestNames.unique("target"))"
        let link = "/tmp/\(TestNames.unique("link"))"
        let region = try SharedRegions.open("file:\(target)", size: 16, mode: .create)
        defer { try? region.remove() }
        #expect(symlink(target, link) == 0)
        defer { unlink(link) }
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open("file:\(link)", mode: .open) }
        #expect(error?.code == .wrongObjectType)
        #expect(error?.hint.contains("symbolic link") == true)
        let removal = #expect(throws: SharedMemoryError.self) { try SharedRegions.remove(RegionAddress(parsing: "file:\(link)")) }
        #expect(removal?.code == .wrongObjectType)
        #expect(try SharedRegions.status(of: region.address).byteCount == 16)
    }

    @Test("a FIFO at a file path is refused instead of hanging")
    func fifoPath() throws {
        let path = "/tmp/\(TestNames.unique("fifo"))"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open("file:\(path)", mode: .open) }
        #expect(error?.code == .wrongObjectType)
    }

    @Test("offsets outside the region are refused", arguments: SharedRegionBackend.available)
    func outOfBounds(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 100, mode: .create)
        for (offset, count) in [(-1, 1), (100, 1), (99, 2), (0, 101), (50, -1), (Int.max, 2)] {
            let error = #expect(throws: SharedMemoryError.self) { try region.read(at: offset, count: count) }
            #expect(error?.code == .outOfBounds)
            if count > 0 {
                #expect(throws: SharedMemoryError.self) { try region.write([UInt8](repeating: 0, count: count), at: offset) }
            }
        }
        #expect(try region.read(at: 100, count: 0) == [])
    }

    @Test("memfd addresses cannot be removed or looked up by name")
    func memfdHasNoName() throws {
        let address = try RegionAddress(parsing: "memfd:x")
        #expect(throws: SharedMemoryError.self) { try SharedRegions.remove(address) }
        #expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) }
    }

    @Test("a zero-sized object whose creator never sized it is .notReady, not a zero-byte mapping")
    func unsizedObject() throws {
        let name = TestNames.unique("unsized")
        let descriptor = shm_open("/" + name, O_CREAT | O_EXCL | O_RDWR, 0o600)
        #expect(descriptor >= 0)
        close(descriptor)
        let address = try RegionAddress(parsing: "posix:/" + name)
        defer { cleanUp(address) }
        var options = SharedRegionOptions()
        options.sizeWait = .milliseconds(20)
        let error = #expect(throws: SharedMemoryError.self) {
            try SharedRegions.open(address, mode: .open, options: options)
        }
        #expect(error?.code == .notReady)
        #expect(error?.hint.contains("shm remove") == true)
    }
}
