import SystemPackage

/// Regular files mapped `MAP_SHARED`, named by absolute paths.
struct MappedFileDriver: NamedDescriptorDriver {
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

    func checkHugePages(_ address: RegionAddress) throws(SharedMemoryError) {
        throw .unsupported(
            "huge pages", address, "regular files are not backed by huge pages",
            hint: "use a posix:, sysv: or memfd: address for huge pages")
    }

    func room(for address: RegionAddress) -> (bytes: Int, place: String)? {
        (try? namespace(address)).flatMap { Capacity.freeSpace(of: $0.directory) }
    }

    func namespace(_ address: RegionAddress) throws(SharedMemoryError) -> FileNamespace {
        guard case .file(let path) = address else { throw .wrongBackend(address, expected: .file) }
        return FileNamespace(address: address, path: path)
    }
}
