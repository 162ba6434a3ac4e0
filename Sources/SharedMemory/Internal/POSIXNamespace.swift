#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// How POSIX objects are found: `shm_open` names, files in `/dev/shm`.
struct POSIXNamespace: DescriptorNamespace {
    let address: RegionAddress
    let name: String
    var openCall: StaticString { "shm_open" }
    // glibc's shm_open opens NAME under /dev/shm.
    var filesystemPath: String { "/dev/shm" + name }
    var directory: String { "/dev/shm" }

    func createExclusively(permissions: FilePermissions) -> Result<Int32, Errno> {
        SystemCall.value { shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, permissions.rawValue) }
    }

    func openExisting(access: SharedRegionAccess) -> Result<Int32, Errno> {
        SystemCall.value { shm_open(name, access.openFlags, 0) }
    }

    func remove() throws(SharedMemoryError) {
        _ = try SystemCall.value { shm_unlink(name) }.get("shm_unlink", address)
    }
}
