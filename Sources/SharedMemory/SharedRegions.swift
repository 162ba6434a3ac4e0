import SystemPackage

/// Entry points that pick the backend from the address.
public enum SharedRegions {
    /// Creates or opens the region at `address`, with the backend the address names.
    ///
    /// ```swift
    /// let region = try SharedRegions.open("posix:/orders", size: 4096, mode: .openOrCreate)
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
        try address.backend.driver.open(
            address, size: size, mode: mode, access: access, permissions: permissions, options: options)
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
    ///
    /// - Throws: `.notFound`, saying there is nothing to remove, when nothing is there.
    public static func remove(_ address: RegionAddress) throws(SharedMemoryError) {
        do throws(SharedMemoryError) {
            try address.backend.driver.remove(address)
        } catch where error.code == .notFound {
            throw error.nothingToRemove(address, listing: "`shm list`")
        }
    }

    /// What the kernel reports about the object at `address`, without mapping it
    /// (`shmctl(IPC_STAT)` or `fstat`), so a System V attach count is not changed by looking.
    public static func status(of address: RegionAddress) throws(SharedMemoryError) -> SharedRegionStatus {
        try address.backend.driver.status(of: address)
    }
}
