import SystemPackage

/// System V segments: `shmget` keys, `shmctl` for removal and status.
struct SystemVDriver: RegionDriver {
    var capabilities: SharedRegionBackend.Capabilities { [.named, .persistent, .reportsAttachCount] }
    var displayName: String { "System V" }
    var isAvailable: Bool { Environment.mayUse("/proc/sysvipc/shm") }

    /// A 32-bit FNV-1a hash of the name's bytes, never 0 (`IPC_PRIVATE`).
    func address(forName name: String) throws(SharedMemoryError) -> RegionAddress {
        let hash = FNV1a.hash(name)
        return .systemV(.key(Int32(bitPattern: hash == 0 ? 1 : hash)))
    }

    func open(
        _ address: RegionAddress, size: Int?, mode: SharedRegionOpenMode, access: SharedRegionAccess,
        permissions: FilePermissions, options: SharedRegionOptions
    ) throws(SharedMemoryError) -> any SharedRegion {
        try SystemVRegion(address, size: size, mode: mode, access: access, permissions: permissions, options: options)
    }

    func remove(_ address: RegionAddress) throws(SharedMemoryError) {
        try SystemVRegion.removeSegment(try SystemVRegion.existingID(try identifier(address)), address)
    }

    func status(of address: RegionAddress) throws(SharedMemoryError) -> SharedRegionStatus {
        let id = try SystemVRegion.existingID(try identifier(address))
        return SharedRegionStatus(address, segment: try SystemVRegion.segmentStatus(id, address))
    }

    /// `SHM_HUGETLB` draws on the pool reserved with `vm.nr_hugepages`.
    func checkHugePages(_ address: RegionAddress) throws(SharedMemoryError) {
        try HugePages.requireReservedPool(address)
    }

    func room(for address: RegionAddress) -> (bytes: Int, place: String)? { nil }

    func ownership(of address: RegionAddress, semaphoreSet: Bool) -> String? {
        guard case .systemV(let identifier) = address else { return nil }
        return ObjectOwnership.describeSystemV(identifier, semaphoreSet: semaphoreSet)
    }

    func noSpaceHint(_ address: RegionAddress) -> String {
        "the kernel refused the segment: see the limits in /proc/sys/kernel/shmall and shmmni, "
            + "and the memory free on this machine"
    }

    private func identifier(_ address: RegionAddress) throws(SharedMemoryError) -> SystemVIdentifier {
        guard case .systemV(let identifier) = address else { throw .wrongBackend(address, expected: .systemV) }
        return identifier
    }
}
