#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage
import Testing

/// Other users: modes are applied exactly and enforced, squatted names are refused, and no
/// descriptor leaks into programs this one starts.
@Suite("Access control")
struct AccessControlTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }

    @Test(
        "a 0600 region cannot be opened by another user", .enabled(if: OtherUser.isAvailable, "\(OtherUser.unavailableReason ?? "")"),
        arguments: named)
    func privateRegion(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "acl")
        defer { cleanUp(address) }
        _ = try SharedRegions.open(address, size: 4096, mode: .create)
        let peer = try OtherUser.peer(
            "fails", "permissionDenied", "open", "\(address)", "fails", "permissionDenied", "open", "\(address)", "ro")
        try peer.expectSuccess()
    }

    @Test(
        "a 0644 region can be opened read-only by another user, not read-write",
        .enabled(if: OtherUser.isAvailable, "\(OtherUser.unavailableReason ?? "")"), arguments: named)
    func readableRegion(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "acl")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create, permissions: [.ownerReadWrite, .groupRead, .otherRead])
        try region.write([0xC0, 0xFF, 0xEE], at: 100)
        let peer = try OtherUser.peer(
            "open", "\(address)", "ro", "expect", "100", "c0ffee", "close",
            "fails", "permissionDenied", "open", "\(address)")
        try peer.expectSuccess()
    }

    @Test(
        "a name squatted by another user is refused unless that user is trusted",
        .enabled(if: OtherUser.isAvailable, "\(OtherUser.unavailableReason ?? "")"), arguments: named)
    func squattedName(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "squat")
        defer { cleanUp(address) }
        try OtherUser.peer("create-mode", "\(address)", "4096", "666").expectSuccess()

        for mode in [SharedRegionOpenMode.open, .openOrCreate] {
            let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open(address, size: 4096, mode: mode) }
            #expect(error?.code == .untrustedOwner)
            #expect(error?.message.contains("nobody (uid 65534) with mode 0666") == true, "\(String(describing: error))")
            #expect(error?.hint.contains("trustedOwners") == true)
        }
        var options = SharedRegionOptions()
        options.trustedOwners = [OtherUser.uid]
        let region = try SharedRegions.open(address, mode: .open, options: options)
        #expect(!region.created)
        #expect(try region.status().ownerUserID == OtherUser.uid)

        let refused = try ChildProcess("shm", ["read", "\(address)", "--count", "4", "--hex"]).finish()
        #expect(refused.status == 1)
        #expect(refused.errors.contains("--trust-owner 65534"), "\(refused.errors)")
        let trusted = try ChildProcess("shm", ["read", "\(address)", "--count", "4", "--hex", "--trust-owner", "65534"]).finish()
        #expect(trusted.status == 0, "\(trusted.errors)")
    }

    @Test(
        "a System V segment handed to root by its squatter is still refused by its creator uid",
        .enabled(if: OtherUser.isAvailable && SharedRegionBackend.systemV.isAvailable, "\(OtherUser.unavailableReason ?? "no System V")"))
    func squatterGivesSegmentAway() throws {
        let address = try TestNames.address(.systemV, "squat")
        defer { cleanUp(address) }
        try OtherUser.peer("create-mode", "\(address)", "4096", "666", "give-to", "0", "0").expectSuccess()
        #expect(try SharedRegions.status(of: address).ownerUserID == 0)
        let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.open(address, mode: .open) }
        #expect(error?.code == .untrustedOwner)
        #expect(error?.message.contains("created by uid 65534") == true, "\(String(describing: error))")
    }

    @Test(
        "a semaphore set squatted by another user is refused unless that user is trusted",
        .enabled(
            if: OtherUser.isAvailable && SharedRegionBackend.systemV.isAvailable,
            "\(OtherUser.unavailableReason ?? "no System V")"))
    func squattedSemaphoreSet() throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        try OtherUser.peer("sem-create", "\(address)", "1", "666").expectSuccess()

        for mode in [SharedRegionOpenMode.open, .openOrCreate] {
            let error = #expect(throws: SharedMemoryError.self) {
                try SystemVSemaphoreSet(address, count: 1, mode: mode)
            }
            #expect(error?.code == .untrustedOwner)
            #expect(error?.message.contains("nobody (uid 65534) with mode 0666") == true, "\(String(describing: error))")
            #expect(error?.hint.contains("trustedOwners") == true && error?.hint.contains("shm sem remove") == true)
        }
        let set = try SystemVSemaphoreSet(address, mode: .open, trustedOwners: [OtherUser.uid])
        #expect(try set.values() == [1])

        let refused = try ChildProcess("shm", ["sem", "op", "\(address)", "0:-1", "--nowait"]).finish()
        #expect(refused.status == 1)
        #expect(refused.errors.contains("--trust-owner 65534"), "\(refused.errors)")
        let trusted = try ChildProcess(
            "shm", ["sem", "op", "\(address)", "0:-1", "--nowait", "--trust-owner", "65534"]).finish()
        #expect(trusted.status == 0, "\(trusted.errors)")
        #expect(try set.values() == [0])
    }

    @Test(
        "a semaphore set handed to root by its squatter is still refused by its creator uid",
        .enabled(
            if: OtherUser.isAvailable && SharedRegionBackend.systemV.isAvailable,
            "\(OtherUser.unavailableReason ?? "no System V")"))
    func squatterGivesSemaphoreSetAway() throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        try OtherUser.peer("sem-create", "\(address)", "1", "666", "sem-give", "\(address)", "0", "0").expectSuccess()
        let error = #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet(address, mode: .open) }
        #expect(error?.code == .untrustedOwner)
        #expect(error?.message.contains("created by uid 65534") == true, "\(String(describing: error))")
        let get = try ChildProcess("shm", ["sem", "get", "\(address)"]).finish()
        #expect(get.status == 1 && get.errors.contains("--trust-owner 65534"), "\(get.errors)")
    }

    @Test("the mode is exactly what was asked, whatever the creator's umask", arguments: named)
    func modeIgnoresUmask(backend: SharedRegionBackend) throws {
        for (mask, mode) in [("077", "666"), ("000", "600"), ("022", "660")] {
            let address = try TestNames.address(backend, "umask")
            defer { cleanUp(address) }
            try ChildProcess.peer("umask", mask, "create-mode", "\(address)", "64", mode).expectSuccess()
            #expect(try SharedRegions.status(of: address).permissions.rawValue == UInt32(mode, radix: 8))
        }
    }

    @Test("no descriptor of the library reaches a program this process starts")
    func descriptorsAreCloseOnExec() throws {
        var regions: [any SharedRegion] = []
        var addresses: [RegionAddress] = []
        defer { addresses.forEach(cleanUp) }
        for backend in SharedRegionBackend.available {
            let address = try TestNames.address(backend, "cloexec")
            if backend.capabilities.contains(.named) { addresses.append(address) }
            regions.append(try SharedRegions.open(address, size: 4096, mode: .create))
        }
        let peer = try ChildProcess.peer("fds")
        let result = try peer.finish()
        #expect(result.status == 0, "\(result.errors)")
        let descriptors = String(decoding: result.output, as: UTF8.self)
        #expect(descriptors.contains("0 pipe:"), "the peer lists its descriptors: \(descriptors)")
        for region in regions {
            let name: String
            switch region.address {
            case .posix(let posixName): name = "/dev/shm" + posixName
            case .file(let path): name = path.string
            case .memfd(let memfdName): name = "memfd:" + memfdName
            case .systemV: continue  // a segment has no descriptor
            }
            #expect(!descriptors.contains(name), "\(name) leaked into the child: \(descriptors)")
        }
        #expect(regions.count == SharedRegionBackend.available.count)
    }
}
