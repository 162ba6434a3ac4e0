#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage
import Testing

/// The semantics contract, once per backend this machine has.
@Suite("Region lifecycle")
struct RegionLifecycleTests {
    @Test("create, then open, sees the same bytes", arguments: SharedRegionBackend.available)
    func createThenOpen(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let creator = try SharedRegions.open(address, size: 4096, mode: .create)
        #expect(creator.created)
        #expect(creator.backend == backend)
        try creator.write([0xCA, 0xFE], at: 100)
        let opener = try reopen(creator)
        #expect(!opener.created)
        #expect(try opener.read(at: 100, count: 2) == [0xCA, 0xFE])
        try opener.write([0x42], at: 4095)
        #expect(try creator.read(at: 4095, count: 1) == [0x42])
    }

    @Test("exclusive create collides with an existing object", arguments: SharedRegionBackend.available.filter { $0.capabilities.contains(.named) })
    func exclusiveCollision(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        _ = try SharedRegions.open(address, size: 64, mode: .create)
        let error = #expect(throws: SharedMemoryError.self) {
            try SharedRegions.open(address, size: 64, mode: .create)
        }
        #expect(error?.code == .alreadyExists)
        #expect(error?.hint.contains("openOrCreate") == true)
        #expect(error?.hint.contains("shm remove \(address)") == true)
    }

    @Test("openOrCreate reports who created", arguments: SharedRegionBackend.available.filter { $0.capabilities.contains(.named) })
    func openOrCreateReportsCreated(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let first = try SharedRegions.open(address, size: 128, mode: .openOrCreate)
        let second = try SharedRegions.open(address, size: 128, mode: .openOrCreate)
        #expect(first.created)
        #expect(!second.created)
        try first.write([7], at: 0)
        #expect(try second.read(at: 0, count: 1) == [7])
    }

    @Test("memfd has no name to open", arguments: SharedRegionBackend.available.filter { !$0.capabilities.contains(.named) })
    func unnamedBackendRefusesOpen(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        for mode in [SharedRegionOpenMode.open, .openOrCreate] {
            let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open(address, size: 64, mode: mode) }
            #expect(error?.code == .unsupported)
        }
    }

    @Test(
        "byteCount is exact and mappedByteCount page-rounded",
        arguments: SharedRegionBackend.available, [1, 4095, 4096, 4097, 1 << 20 + 7, 64 << 20])
    func exactByteCount(backend: SharedRegionBackend, size: Int) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: size, mode: .create)
        #expect(region.byteCount == size)
        #expect(region.mappedByteCount == (size + 4095) / 4096 * 4096)
        #expect(try region.status().byteCount == size)
        try region.write([0xAB], at: size - 1)
        let reopened = try reopen(region)
        #expect(reopened.byteCount == size)
        #expect(try reopened.read(at: size - 1, count: 1) == [0xAB])
        #expect(throws: SharedMemoryError.self) { try reopened.read(at: size, count: 1) }
    }

    @Test("a read-only mapping refuses writes", arguments: SharedRegionBackend.available)
    func readOnlyRefusesWrites(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let writer = try SharedRegions.open(address, size: 256, mode: .create)
        try writer.write([1, 2, 3], at: 0)
        let reader = try reopen(writer, access: .readOnly)
        #expect(reader.access == .readOnly)
        #expect(try reader.read(at: 0, count: 3) == [1, 2, 3])
        let error = #expect(throws: SharedMemoryError.self) { try reader.write([9], at: 0) }
        #expect(error?.code == .readOnly)
        #expect(throws: SharedMemoryError.self) { try reader.withUnsafeMutableBytes { $0[0] = 9 } }
        #expect(try writer.read(at: 0, count: 1) == [1])
    }

    @Test("remove: the name goes, mappings stay", arguments: SharedRegionBackend.available.filter { $0.capabilities.contains(.named) })
    func removeKeepsMappings(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 8192, mode: .create)
        let other = try SharedRegions.open(address, mode: .open)
        try region.remove()
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open(address, mode: .open) }
        #expect(error?.code == .notFound)
        #expect(error?.hint.contains("create it first") == true)
        try region.write([5, 6], at: 8000)
        #expect(try other.read(at: 8000, count: 2) == [5, 6])
        // The name is free again at once.
        let successor = try SharedRegions.open(address, size: 16, mode: .create)
        #expect(try successor.read(at: 0, count: 1) == [0])
    }

    @Test("status reports the mode asked for, 0600 by default", arguments: SharedRegionBackend.available)
    func statusMode(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        let other = try TestNames.address(backend)
        defer { cleanUp(address); cleanUp(other) }
        let region = try SharedRegions.open(address, size: 100, mode: .create)
        let status = try region.status()
        #expect(status.permissions == [.ownerReadWrite])
        #expect(status.byteCount == 100)
        #expect(status.ownerUserID == getuid())
        let wider = try SharedRegions.open(other, size: 100, mode: .create, permissions: [.ownerReadWrite, .groupRead, .otherRead])
        #expect(try wider.status().permissions.rawValue == 0o644)
        #expect((status.attachCount != nil) == backend.capabilities.contains(.reportsAttachCount))
    }

    @Test("open maps a prefix when asked for less, and refuses more", arguments: SharedRegionBackend.available)
    func openWithSize(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 1000, mode: .create)
        #expect(try reopen(region, size: 10).byteCount == 10)
        let error = #expect(throws: SharedMemoryError.self) { try reopen(region, size: 1001) }
        #expect(error?.code == .invalidSize)
        #expect(error?.message.contains("1000") == true)
    }

    @Test("resize grows and shrinks where the backend can", arguments: SharedRegionBackend.available.filter { $0.capabilities.contains(.resizable) })
    func resize(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 100, mode: .create)
        try region.write([1], at: 99)
        let resizable = try #require(region as? any ResizableRegion)
        try resizable.resize(to: 1 << 20)
        #expect(region.byteCount == 1 << 20)
        #expect(try region.status().byteCount == 1 << 20)
        #expect(try region.read(at: 99, count: 1) == [1])
        try region.write([2], at: (1 << 20) - 1)
        try resizable.resize(to: 50)
        #expect(region.byteCount == 50)
        #expect(try region.status().byteCount == 50)
    }

    @Test("options: prefault, lock, flush", arguments: SharedRegionBackend.available)
    func options(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        var options = SharedRegionOptions()
        options.prefault = true
        options.lockInMemory = true
        let region = try SharedRegions.open(address, size: 1 << 16, mode: .create, options: options)
        try region.write([1, 2, 3], at: 0)
        try region.flush()
        try region.flush(.asynchronous)
        #expect(try region.read(at: 0, count: 3) == [1, 2, 3])
    }

    @Test("huge pages: granted, or a typed error that leaves nothing behind", arguments: SharedRegionBackend.available)
    func hugePages(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        var options = SharedRegionOptions()
        options.hugePages = true
        do throws(SharedMemoryError) {
            let region = try SharedRegions.open(address, size: 2 << 20, mode: .create, options: options)
            try region.write([1], at: 0)
            #expect(try region.read(at: 0, count: 1) == [1])
        } catch {
            #expect(error.code == .unsupported)
            if backend.capabilities.contains(.named) {
                #expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) }
            }
        }
    }

    @Test("removeWhenDeinitialized removes what this object created", arguments: SharedRegionBackend.available.filter { $0.capabilities.contains(.named) })
    func removeWhenDeinitialized(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend)
        defer { cleanUp(address) }
        var options = SharedRegionOptions()
        options.removeWhenDeinitialized = true
        do {
            let region = try SharedRegions.open(address, size: 64, mode: .create, options: options)
            #expect(try SharedRegions.status(of: address).byteCount == region.byteCount)
        }
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) }
        #expect(error?.code == .notFound)
    }
}
