#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A POSIX shared-memory object in `/dev/shm`, mapped `MAP_SHARED`.
///
/// The object lives in `/dev/shm` (tmpfs) under its name until `remove()` (`shm_unlink`)
/// or reboot; a C program calling `shm_open("/NAME")` meets the same object. Opening is
/// `shm_open` + `mmap`. Creating makes the object whole before its name appears: an unnamed
/// file in `/dev/shm` (`open(O_TMPFILE)`), sized (`ftruncate`, `fallocate`) and mapped, then
/// linked in under the name (`linkat`, which fails like `O_EXCL` when the name is taken);
/// where the filesystem cannot do that, `shm_open(O_CREAT | O_EXCL)` + `ftruncate`.
public final class POSIXRegion: ResizableRegion {
    public let address: RegionAddress
    public let created: Bool
    /// The name given to `shm_open`, with its leading `/`.
    public let name: String
    private let storage: MappedDescriptor
    private let options: SharedRegionOptions

    public var access: SharedRegionAccess { storage.access }
    public var mapping: SharedRegionMapping { storage.mapping }

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
            try Namespace(address: RegionAddress(parsing: "posix:" + name), name: name), size: size, mode: mode, access: access,
            permissions: permissions, options: options)
    }

    /// Opens what `namespace` names; `SharedMemory.open` comes here with an address it parsed already.
    init(
        _ namespace: Namespace, size: Int?, mode: SharedRegionOpenMode, access: SharedRegionAccess,
        permissions: FilePermissions, options: SharedRegionOptions
    ) throws(SharedMemoryError) {
        (storage, created) = try MappedDescriptor.openNamed(
            namespace, size: size, mode: mode, access: access, permissions: permissions, options: options)
        self.address = namespace.address
        self.name = namespace.name
        self.options = options
    }

    deinit {
        if created && options.removeWhenDeinitialized { try? remove() }
    }

    /// Removes the name (`shm_unlink`); mappings, here and elsewhere, stay valid.
    public func remove() throws(SharedMemoryError) {
        try Namespace(address: address, name: name).remove()
    }

    /// Size, mode, owner and times (`fstat`).
    public func status() throws(SharedMemoryError) -> SharedRegionStatus {
        try storage.status(address: address)
    }

    /// Changes the object's size (`ftruncate`) and remaps it here (`mremap`, which may move it).
    ///
    /// Pointers and buffers taken before are invalid afterwards. Other processes keep their
    /// mapping at the old size; if it shrinks, touching the cut part kills them with `SIGBUS`.
    public func resize(to byteCount: Int) throws(SharedMemoryError) {
        try storage.resize(to: byteCount, options: options, address: address)
    }

    struct Namespace: DescriptorNamespace {
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
}
