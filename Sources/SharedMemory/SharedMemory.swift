import SystemPackage

/// Entry points that pick the backend from the address.
public enum SharedMemory {
    /// Creates or opens the region at `address`, with the backend the address names.
    ///
    /// ```swift
    /// let region = try SharedMemory.open("posix:/orders", size: 4096, mode: .openOrCreate)
    /// try region.write([1, 2, 3], at: 0)
    /// ```
    ///
    /// Calls `shmget` + `shmat`, `shm_open` + `mmap`, `open` + `mmap` or `memfd_create` +
    /// `mmap`; see each region type. A `memfd:` address can only be created: other processes
    /// get it by descriptor passing (`MemfdRegion.receive`).
    public static func open(
        _ address: RegionAddress, size: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        access: SharedRegionAccess = .readWrite, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) -> any SharedRegion {
        switch address {
        case .systemV(let identifier):
            return try SystemVRegion(
                identifier, size: size, mode: mode, access: access, permissions: permissions, options: options)
        case .posix(let name):
            return try POSIXRegion(
                POSIXRegion.Namespace(address: address, name: "/" + name), size: size, mode: mode, access: access,
                permissions: permissions, options: options)
        case .file(let path):
            return try MappedFileRegion(
                MappedFileRegion.Namespace(address: address, path: path), size: size, mode: mode, access: access,
                permissions: permissions, options: options)
        case .memfd(let name):
            guard mode == .create else {
                throw .unsupported(
                    "open", address, "a memfd has no name another process can open",
                    hint: "create it with mode .create, and hand it over with MemfdRegion.send(over:) / receive(from:)")
            }
            return try MemfdRegion(
                name: name, size: try OpenProcedure.sizeForCreating(size, address), access: access,
                permissions: permissions, options: options)
        }
    }

    /// Parses `address` (`"posix:/orders"`), then opens it as `open(_:size:mode:...)` does.
    public static func open(
        _ address: String, size: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        access: SharedRegionAccess = .readWrite, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) -> any SharedRegion {
        try open(
            RegionAddress(parsing: address), size: size, mode: mode, access: access, permissions: permissions,
            options: options)
    }

    /// Removes the object at `address` without mapping it (`shmctl(IPC_RMID)`, `shm_unlink`,
    /// `unlink`). Processes that have it mapped keep their mapping.
    public static func remove(_ address: RegionAddress) throws(SharedMemoryError) {
        switch address {
        case .systemV(let identifier):
            try SystemVRegion.removeSegment(try SystemVRegion.existingID(identifier), address)
        case .posix(let name):
            try POSIXRegion.Namespace(address: address, name: "/" + name).remove()
        case .file(let path):
            try MappedFileRegion.Namespace(address: address, path: path).remove()
        case .memfd:
            throw .unsupported(
                "remove", address, "a memfd has no name to remove",
                hint: "its memory is freed when the last process holding it closes it")
        }
    }

    /// What the kernel reports about the object at `address`, without mapping it
    /// (`shmctl(IPC_STAT)` or `fstat`), so a System V attach count is not changed by looking.
    public static func status(of address: RegionAddress) throws(SharedMemoryError) -> SharedRegionStatus {
        switch address {
        case .systemV(let identifier):
            let id = try SystemVRegion.existingID(identifier)
            return SystemVRegion.status(of: try SystemVRegion.segmentStatus(id, address), address: address)
        case .posix(let name):
            let namespace = POSIXRegion.Namespace(address: address, name: "/" + name)
            return try MappedDescriptor.statusOfNamed(namespace)
        case .file(let path):
            return try MappedDescriptor.statusOfNamed(MappedFileRegion.Namespace(address: address, path: path))
        case .memfd:
            throw .unsupported(
                "status", address, "a memfd has no name to look up",
                hint: "call status() on the MemfdRegion that holds it")
        }
    }
}
