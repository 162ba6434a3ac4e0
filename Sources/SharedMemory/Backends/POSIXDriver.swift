import SystemPackage

/// POSIX objects: `shm_open` names, which glibc keeps as files in `/dev/shm`.
struct POSIXDriver: NamedDescriptorDriver {
    var capabilities: SharedRegionBackend.Capabilities { [.named, .persistent, .resizable] }
    var displayName: String { "POSIX" }
    var isAvailable: Bool { Environment.mayUse("/dev/shm", writable: true) }

    func address(forName name: String) throws(SharedMemoryError) -> RegionAddress { .posix(name: "/" + name) }

    func open(
        _ address: RegionAddress, size: Int?, mode: SharedRegionOpenMode, access: SharedRegionAccess,
        permissions: FilePermissions, options: SharedRegionOptions
    ) throws(SharedMemoryError) -> any SharedRegion {
        try POSIXRegion(address, size: size, mode: mode, access: access, permissions: permissions, options: options)
    }

    /// tmpfs objects get transparent huge pages unless `shmem_enabled` says never or deny.
    func checkHugePages(_ address: RegionAddress) throws(SharedMemoryError) {
        try HugePages.requireTransparentShmem(address)
    }

    func room(for address: RegionAddress) -> (bytes: Int, place: String)? { Capacity.freeSpace(of: "/dev/shm") }

    func namespace(_ address: RegionAddress) throws(SharedMemoryError) -> POSIXNamespace {
        guard case .posix(let name) = address else { throw .wrongBackend(address, expected: .posix) }
        // A case built by hand, not parsed, is checked here.
        guard name.hasPrefix("/") else { throw .invalidAddress(name, "a POSIX name starts with '/', as in /orders") }
        try RegionAddress.validatePOSIXName(String(name.dropFirst()), in: address.description)
        return POSIXNamespace(address: address, name: name)
    }
}
