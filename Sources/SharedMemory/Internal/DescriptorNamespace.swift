#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// How a descriptor-backed backend finds its objects by name: the only part in which the
/// POSIX and file backends differ. `MappedDescriptor.openNamed` does the rest once.
protocol DescriptorNamespace: Sendable {
    var address: RegionAddress { get }
    /// Where the object appears in the filesystem (`/dev/shm/NAME` for POSIX).
    var filesystemPath: String { get }
    /// The directory that holds it (`/dev/shm` for POSIX), where it is made before it is named.
    var directory: String { get }
    /// The C call that opens (`shm_open`, `open`), for errors.
    var openCall: StaticString { get }
    /// Creates the object, failing with `EEXIST` if it is there (`O_CREAT | O_EXCL`): only
    /// where the filesystem cannot make an unnamed file (see `createFullyMade`).
    func createExclusively(permissions: FilePermissions) -> Result<Int32, Errno>
    /// Opens the existing object.
    func openExisting(access: SharedRegionAccess) -> Result<Int32, Errno>
    /// Removes the name.
    func remove() throws(SharedMemoryError)
}

extension MappedDescriptor {
    /// Creates, opens or opens-or-creates the object `namespace` names, and maps it. A
    /// creation that fails half-way leaves nothing behind.
    static func openNamed(
        _ namespace: some DescriptorNamespace, size: Int?, mode: SharedRegionOpenMode,
        access: SharedRegionAccess, permissions: FilePermissions, options: SharedRegionOptions
    ) throws(SharedMemoryError) -> (handle: MappedDescriptor, created: Bool) {
        let address = namespace.address
        try HugePages.check(options, address)
        return try OpenProcedure.run(
            mode, size: size, address: address,
            create: { () throws(SharedMemoryError) in
                let byteCount = try OpenProcedure.sizeForCreating(size, address)
                return try namespace.createFullyMade(
                    byteCount: byteCount, permissions: permissions, access: access, options: options)
            },
            open: { () throws(SharedMemoryError) in
                let descriptor = try namespace.openExisting(access: access).get(namespace.openCall, address)
                return try openingExistingObject(
                    descriptor, requestedByteCount: size, access: access, options: options, verifyingOwner: true,
                    address: address)
            })
    }
}

extension MappedDescriptor {
    /// Size, mode, owner and times of a named object without opening it (`lstat`), so that
    /// even an object whose mode denies us reading can be looked at.
    static func statusOfNamed(_ namespace: some DescriptorNamespace) throws(SharedMemoryError) -> SharedRegionStatus {
        var info = stat()
        _ = try SystemCall.value { lstat(namespace.filesystemPath, &info) }.get("lstat", namespace.address)
        return SharedRegionStatus(namespace.address, info)
    }
}

extension SharedRegionAccess {
    /// `O_RDWR` or `O_RDONLY`, always close-on-exec.
    var openFlags: Int32 { (self == .readWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC }

    /// `PROT_READ | PROT_WRITE` or `PROT_READ`, for `mmap`.
    var protection: Int32 { self == .readWrite ? PROT_READ | PROT_WRITE : PROT_READ }
}
