import SystemPackage

/// A POSIX shared-memory object in `/dev/shm`, mapped `MAP_SHARED`.
///
/// The object lives in `/dev/shm` (tmpfs) under its name until `remove()` (`shm_unlink`)
/// or reboot; a C program calling `shm_open("/NAME")` meets the same object. Opening is
/// `shm_open` + `mmap`. Creating makes the object whole before its name appears: an unnamed
/// file in `/dev/shm` (`open(O_TMPFILE)`), sized (`ftruncate`, `fallocate`) and mapped, then
/// linked in under the name (`linkat`, which fails like `O_EXCL` when the name is taken);
/// where the filesystem cannot do that, `shm_open(O_CREAT | O_EXCL)` + `ftruncate`.
public final class POSIXRegion: NamedDescriptorRegion, @unchecked Sendable {
    /// The name given to `shm_open`, with its leading `/`.
    public let name: String

    /// Creates or opens `/NAME` and maps it (`mmap`): opening is `shm_open`, creating is
    /// `open(O_TMPFILE)` + `linkat` as described above.
    ///
    /// - Parameters:
    ///   - name: the object's name, `/NAME`: one `/`, then 1…255 bytes without `/`.
    ///   - size: bytes to create with, or to map of an existing object (`nil`: all of it).
    ///   - mode: create (`O_CREAT | O_EXCL`), open, or open-or-create without a race.
    ///   - permissions: the mode of a created object, applied exactly (`fchmod`, so the umask
    ///     does not change it); 0600 by default.
    ///   - access: `.readOnly` maps with `PROT_READ` only (and opens `O_RDONLY`).
    ///   - options: prefault, backing-store reservation, `mlock`, huge pages, trusted owners.
    public convenience init(
        name: String, size: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        access: SharedRegionAccess = .readWrite, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) {
        try self.init(
            RegionAddress(parsing: "posix:" + name), size: size, mode: mode, access: access, permissions: permissions,
            options: options)
    }

    /// Creates or opens the object at a `posix:` address, as `init(name:...)` does.
    public init(
        _ address: RegionAddress, size: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        access: SharedRegionAccess = .readWrite, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) {
        let namespace = try POSIXDriver().namespace(address)
        self.name = namespace.name
        try super.init(namespace, size: size, mode: mode, access: access, permissions: permissions, options: options)
    }
}
