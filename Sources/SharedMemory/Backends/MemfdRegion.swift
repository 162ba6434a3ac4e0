import SystemPackage

/// An anonymous file in memory: `memfd_create` + `ftruncate` + `mmap(MAP_SHARED)`.
///
/// It has no name another process can open: share it by sending its descriptor over a
/// Unix-domain socket (`send(over:)`, `receive(from:)`), or by letting a child inherit it.
/// The memory is freed when the last descriptor and the last mapping are gone, so nothing
/// is ever left behind by a crash.
public final class MemfdRegion: ResizableRegion {
    /// The label given at creation; `nil` for an adopted descriptor, whose label is read from
    /// `/proc/self/fd` only when asked for (a `readlink` that would double the cost of adopting).
    private let label: String?
    public let created: Bool
    let storage: MappedDescriptor
    let options: SharedRegionOptions

    /// `memfd:NAME`, the label the creator gave (shown in `/proc/PID/fd`).
    public var address: RegionAddress { label.map { .memfd(name: $0) } ?? Self.address(of: storage.descriptor) }
    public var access: SharedRegionAccess { storage.access }
    public var mapping: SharedRegionMapping { storage.mapping }
    /// The descriptor, owned by this region (closed by `deinit`): send it, never close it.
    public var descriptor: FileDescriptor { FileDescriptor(rawValue: storage.descriptor) }

    /// Creates an anonymous file (`memfd_create` with `MFD_CLOEXEC | MFD_ALLOW_SEALING`) of
    /// `size` bytes and maps it.
    ///
    /// - Parameters:
    ///   - name: a label shown in `/proc/PID/fd` and `/proc/PID/maps`, 1…249 bytes.
    ///   - permissions: the file's mode (`fchmod`), which matters when it is reopened
    ///     through `/proc/PID/fd`; 0600 by default.
    ///   - size: the file's size in bytes (`ftruncate`), which the mapping covers.
    ///   - access: `.readOnly` maps with `PROT_READ` only.
    ///   - options: prefault, backing-store reservation, `mlock`, huge pages, trusted owners.
    public init(
        name: String, size: Int, access: SharedRegionAccess = .readWrite,
        permissions: FilePermissions = .ownerReadWrite, options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) {
        let address = try RegionAddress(parsing: "memfd:" + name)
        try HugePages.check(options, address)
        let byteCount = try OpenProcedure.sizeForCreating(size, address)
        let descriptor = try MemfdCall.create(name: name, hugePages: options.hugePages).get("memfd_create", address)
        self.storage = try MappedDescriptor.sizingNewObject(
            descriptor, byteCount: byteCount, permissions: permissions, access: access, options: options,
            address: address)
        self.label = name
        self.created = true
        self.options = options
    }

    /// Maps a memfd descriptor this process received or inherited, taking ownership of it.
    ///
    /// - Parameters:
    ///   - descriptor: a memfd (or any regular-file) descriptor; closed by this region.
    ///   - size: bytes to map (`nil`: all of it).
    ///   - requiringSeals: seals the descriptor must carry (`fcntl(F_GET_SEALS)`), checked
    ///     before mapping: without them it is closed and refused with `.missingSeals`.
    ///     Demand `.shrink` so the sender cannot cut the memory under this mapping (`SIGBUS`);
    ///     with `.write`, map with `access: .readOnly` (the kernel refuses writable mappings).
    ///   - access: `.readOnly` maps with `PROT_READ` only.
    ///   - options: prefault, backing-store reservation, `mlock`, huge pages, trusted owners.
    public init(
        adopting descriptor: FileDescriptor, size: Int? = nil, access: SharedRegionAccess = .readWrite,
        requiringSeals: MemfdSeals = [], options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) {
        // Errors name the descriptor's label, read from /proc only when one happens.
        let unnamed = RegionAddress.memfd(name: "received")
        do {
            try MemfdSeals.require(requiringSeals, on: descriptor.rawValue, unnamed)
        } catch {
            var named = error
            named.address = Self.address(of: descriptor.rawValue).description
            try? descriptor.close()
            throw named
        }
        self.storage = try MappedDescriptor.openingExistingObject(
            descriptor.rawValue, requestedByteCount: size, access: access, options: options, verifyingOwner: false,
            address: unnamed)
        self.label = nil
        self.created = false
        self.options = options
    }

    /// Waits for a descriptor on a Unix-domain socket (`recvmsg` with `MSG_CMSG_CLOEXEC`,
    /// `SCM_RIGHTS`) and maps it; `requiringSeals` as in `init(adopting:requiringSeals:)`.
    public static func receive(
        from socket: FileDescriptor, size: Int? = nil, access: SharedRegionAccess = .readWrite,
        requiringSeals: MemfdSeals = [], options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) -> MemfdRegion {
        let descriptor = try DescriptorPassing.receive(from: socket.rawValue)
        return try MemfdRegion(
            adopting: FileDescriptor(rawValue: descriptor), size: size, access: access, requiringSeals: requiringSeals,
            options: options)
    }

    /// Sends this region's descriptor over a Unix-domain socket (`sendmsg`, `SCM_RIGHTS`).
    /// The receiver maps the same memory; this region stays as it is.
    public func send(over socket: FileDescriptor) throws(SharedMemoryError) {
        try DescriptorPassing.send(storage.descriptor, over: socket.rawValue, address: address)
    }

    /// There is no name to remove: the memory goes with the last descriptor and mapping.
    public func remove() throws(SharedMemoryError) {}

    /// Size, mode, owner and times (`fstat`).
    public func status() throws(SharedMemoryError) -> SharedRegionStatus {
        try storage.status(address: address)
    }

    /// Changes the size (`ftruncate`) and remaps it here (`mremap`, which may move it).
    ///
    /// Pointers and buffers taken before are invalid afterwards; receivers keep their
    /// mapping at the old size.
    public func resize(to byteCount: Int) throws(SharedMemoryError) {
        try storage.resize(to: byteCount, options: options, address: address)
    }

    /// `memfd:NAME`, from the link `/proc/self/fd/N` → `/memfd:NAME (deleted)`.
    private static func address(of descriptor: Int32) -> RegionAddress {
        let target = MemfdCall.linkTarget(descriptor)
        var name = target.hasPrefix("/memfd:") ? target.dropFirst(7) : ""
        if name.hasSuffix(" (deleted)") { name = name.dropLast(10) }
        let label = String(name)
        return (try? RegionAddress.validateMemfdName(label, in: label)) != nil ? .memfd(name: label) : .memfd(name: "received")
    }

}
