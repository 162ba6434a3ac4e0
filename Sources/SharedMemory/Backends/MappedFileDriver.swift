import SystemPackage

/// Regular files mapped `MAP_SHARED`, named by absolute paths.
struct MappedFileDriver: RegionDriver {
    var capabilities: SharedRegionBackend.Capabilities { [.named, .persistent, .resizable, .survivesReboot] }
    var displayName: String { "mapped file" }
    var isAvailable: Bool { Environment.mayUse(FileLocation.directory, writable: true) }

    /// `$TMPDIR/NAME.shm`, or `/tmp/NAME.shm`.
    func address(forName name: String) throws(SharedMemoryError) -> RegionAddress {
        try RegionAddress(parsing: "file:\(FileLocation.directory)/\(name).shm")
    }

    func open(
        _ address: RegionAddress, size: Int?, mode: SharedRegionOpenMode, access: SharedRegionAccess,
        permissions: FilePermissions, options: SharedRegionOptions
    ) throws(SharedMemoryError) -> any SharedRegion {
        try MappedFileRegion(address, size: size, mode: mode, access: access, permissions: permissions, options: options)
    }

    func remove(_ address: RegionAddress) throws(SharedMemoryError) { try namespace(address).remove() }

    func status(of address: RegionAddress) throws(SharedMemoryError) -> SharedRegionStatus {
        try MappedDescriptor.statusOfNamed(try namespace(address))
    }

    func checkHugePages(_ address: RegionAddress) throws(SharedMemoryError) {
        throw .unsupported(
            "huge pages", address, "regular files are not backed by huge pages",
            hint: "use a posix:, sysv: or memfd: address for huge pages")
    }

    func room(for address: RegionAddress) -> (bytes: Int, place: String)? {
        (try? namespace(address)).flatMap { Capacity.freeSpace(of: $0.directory) }
    }

    func ownership(of address: RegionAddress, semaphoreSet: Bool) -> String? {
        (try? namespace(address)).flatMap { ObjectOwnership.describeFile($0.filesystemPath) }
    }

    func namespace(_ address: RegionAddress) throws(SharedMemoryError) -> FileNamespace {
        guard case .file(let path) = address else { throw .wrongBackend(address, expected: .file) }
        return FileNamespace(address: address, path: path)
    }
}
