#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// How mapped files are found: absolute paths, never through a symbolic link.
struct FileNamespace: DescriptorNamespace {
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
