#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A regular file mapped `MAP_SHARED`: `open` + `ftruncate` + `mmap`.
///
/// The contents outlive reboots; `flush()` (`msync`) writes them to the disk. Only regular
/// files are accepted, never through a symbolic link (`O_NOFOLLOW`). Creating makes the file
/// whole before its name appears (`open(O_TMPFILE)` in the directory, sized, then `linkat`),
/// falling back to `open(O_CREAT | O_EXCL)` + `ftruncate` where the filesystem cannot.
public final class MappedFileRegion: NamedDescriptorRegion {
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

    /// How mapped files are found: absolute paths, never through a symbolic link.
    struct Namespace: DescriptorNamespace {
        let address: RegionAddress
        let path: FilePath
        var openCall: StaticString { "open" }
        var filesystemPath: String { path.string }
        var directory: String { path.removingLastComponent().string }
        // O_NOFOLLOW: a symbolic link planted at the path is refused (ELOOP), not followed.
        // O_NONBLOCK: a FIFO planted there fails the regular-file check instead of hanging.
        private var flags: Int32 { O_NOFOLLOW | O_NONBLOCK }

        func createExclusively(permissions: FilePermissions) -> Result<Int32, Errno> {
            SystemCall.value { open(path.string, O_CREAT | O_EXCL | flags | SharedRegionAccess.readWrite.openFlags, permissions.rawValue) }
        }

        func openExisting(access: SharedRegionAccess) -> Result<Int32, Errno> {
            SystemCall.value { open(path.string, flags | access.openFlags) }
        }

        /// Unlinks the path only if it is a regular file: `shm remove` must not delete a
        /// directory or whatever a link points at.
        func remove() throws(SharedMemoryError) {
            var info = stat()
            _ = try SystemCall.value { lstat(path.string, &info) }.get("lstat", address)
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw SharedMemoryError(
                    code: .wrongObjectType, operation: "unlink", address: address.description,
                    message: "the path is not a regular file", hint: "only regular files are removed by this library")
            }
            _ = try SystemCall.value { unlink(path.string) }.get("unlink", address)
        }
    }
}
