import SystemPackage

/// What POSIX objects and mapped files share: an object found by name, opened as a file
/// descriptor (`shm_open` or `open`) and mapped `MAP_SHARED`, which can be resized, looked
/// at with `fstat`, and removed by name.
///
/// Use it through `POSIXRegion` and `MappedFileRegion`; it cannot be made directly.
public class NamedDescriptorRegion: ResizableRegion, @unchecked Sendable {
    // @unchecked: every stored property here and in the two final subclasses is a `let` of a
    // Sendable type; the compiler only asks because the class is not final.
    public let address: RegionAddress
    public let created: Bool
    let storage: MappedDescriptor
    let options: SharedRegionOptions
    private let namespace: any DescriptorNamespace

    public var access: SharedRegionAccess { storage.access }
    public var mapping: SharedRegionMapping { storage.mapping }

    /// Opens what `namespace` names, as `mode` says, and maps it.
    init(
        _ namespace: some DescriptorNamespace, size: Int?, mode: SharedRegionOpenMode, access: SharedRegionAccess,
        permissions: FilePermissions, options: SharedRegionOptions
    ) throws(SharedMemoryError) {
        (storage, created) = try MappedDescriptor.openNamed(
            namespace, size: size, mode: mode, access: access, permissions: permissions, options: options)
        self.address = namespace.address
        self.namespace = namespace
        self.options = options
    }

    deinit {
        if created && options.removeWhenDeinitialized { try? remove() }
    }

    /// Removes the name (`shm_unlink`, or `unlink` of a regular file); mappings, here and in
    /// other processes, stay valid until unmapped.
    public func remove() throws(SharedMemoryError) {
        try namespace.remove()
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
}
