import SystemPackage

/// A regular file mapped `MAP_SHARED`: `open` + `ftruncate` + `mmap`.
///
/// The contents outlive reboots; `flush()` (`msync`) writes them to the disk. Only regular
/// files are accepted, never through a symbolic link (`O_NOFOLLOW`). Creating makes the file
/// whole before its name appears (`open(O_TMPFILE)` in the directory, sized, then `linkat`),
/// falling back to `open(O_CREAT | O_EXCL)` + `ftruncate` where the filesystem cannot.
public final class MappedFileRegion: NamedDescriptorRegion, @unchecked Sendable {
    /// The file's absolute path.
    public let path: FilePath

    /// Creates or opens the file at `path` (`open` with `O_NOFOLLOW | O_CLOEXEC`) and maps it.
    ///
    /// - Parameters:
    ///   - path: an absolute path; its last component may not be a symbolic link.
    ///   - size: bytes to create with, or to map of an existing file (`nil`: all of it).
    ///   - mode: create (`O_CREAT | O_EXCL`), open, or open-or-create without a race.
    ///   - permissions: the mode of a created file, applied exactly (`fchmod`); 0600 by default.
    ///   - access: `.readOnly` maps with `PROT_READ` only (and opens `O_RDONLY`).
    ///   - options: prefault, backing-store reservation, `mlock`, huge pages, trusted owners.
    public convenience init(
        path: FilePath, size: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        access: SharedRegionAccess = .readWrite, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) {
        try self.init(
            RegionAddress(parsing: "file:" + path.string), size: size, mode: mode, access: access,
            permissions: permissions, options: options)
    }

    /// Creates or opens the file at a `file:` address, as `init(path:...)` does.
    public init(
        _ address: RegionAddress, size: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        access: SharedRegionAccess = .readWrite, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) {
        let namespace = try MappedFileDriver().namespace(address)
        self.path = namespace.path
        try super.init(namespace, size: size, mode: mode, access: access, permissions: permissions, options: options)
    }
}
