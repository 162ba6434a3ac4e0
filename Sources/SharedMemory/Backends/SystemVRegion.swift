import SystemPackage

/// A System V shared-memory segment: `shmget` + `shmat`, `shmdt` on `deinit`.
///
/// The segment lives until `remove()` (`shmctl(IPC_RMID)`) or reboot, and `ipcs -m` lists
/// it with its key, id, mode and attach count. A C program calling `shmget(KEY, ...)` meets
/// the same segment.
public final class SystemVRegion: SharedRegion {
    public let address: RegionAddress
    public let created: Bool
    public let access: SharedRegionAccess
    public let mapping: SharedRegionMapping
    /// The key the segment was found or created by; `nil` for `sysv:id=` and `IPC_PRIVATE`.
    public let key: Int32?
    /// The kernel's id for the segment (`shmid`), as `ipcs -m` shows it.
    public let id: Int32
    private let options: SharedRegionOptions

    /// Creates or opens the segment at a `sysv:` address, as `init(_:size:mode:...)` with its
    /// identifier does.
    public convenience init(
        _ address: RegionAddress, size: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        access: SharedRegionAccess = .readWrite, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) {
        guard case .systemV(let identifier) = address else { throw .wrongBackend(address, expected: .systemV) }
        try self.init(identifier, size: size, mode: mode, access: access, permissions: permissions, options: options)
    }

    /// Creates or opens a segment (`shmget`) and attaches it (`shmat`).
    ///
    /// - Parameters:
    ///   - identifier: a key, an `ftok` path and project, an id (open only) or `.private` (create only).
    ///   - size: bytes to create with, or to attach of an existing segment (`nil`: all of it).
    ///   - mode: create (`IPC_CREAT | IPC_EXCL`), open, or open-or-create without a race.
    ///   - access: `.readOnly` attaches with `SHM_RDONLY`.
    ///   - permissions: the segment's mode; 0600 by default (System V ignores the umask).
    ///   - options: prefault, `mlock` of this mapping, huge pages (`SHM_HUGETLB`), trusted owners.
    public init(
        _ identifier: SystemVIdentifier, size: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        access: SharedRegionAccess = .readWrite, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws(SharedMemoryError) {
        let given = RegionAddress.systemV(identifier)
        try identifier.checkOpenMode(mode)
        try HugePages.check(options, given)
        let resolved = try identifier.resolvingFtok()
        let ((id, mapping), created) = try OpenProcedure.run(
            mode, size: size, address: given,
            create: { () throws(SharedMemoryError) in
                let byteCount = try OpenProcedure.sizeForCreating(size, given)
                let key = try resolved.creationKey()
                let created = SegmentCall.create(
                    key: key, byteCount: byteCount, permissions: permissions, hugePages: options.hugePages)
                if case .failure(let error) = created, error != .fileExists {
                    // Name the limit that refused it.
                    try Capacity.checkSystemVSegment(of: byteCount, given, refusal: error)
                }
                let id = try created.get("shmget", given)
                do throws(SharedMemoryError) {
                    return (id, try Self.attach(id, byteCount: byteCount, access: access, options: options, given))
                } catch {
                    _ = SegmentCall.remove(id)  // leave nothing half-made behind
                    throw error
                }
            },
            open: { () throws(SharedMemoryError) in
                let id = try Self.existingID(resolved)
                let existing = try Self.segmentStatus(id, given)
                try OwnerTrust.check(
                    owner: existing.shm_perm.uid, creator: existing.shm_perm.cuid, mode: UInt32(existing.shm_perm.mode),
                    trustedOwners: options.trustedOwners, address: given)
                let byteCount = try RegionSize.forOpening(requested: size, existing: Int(existing.shm_segsz), given)
                return (id, try Self.attach(id, byteCount: byteCount, access: access, options: options, given))
            })
        if case .key(let value) = resolved { self.key = value } else { self.key = nil }
        // A private segment can only be found again by its id.
        self.address = identifier == .private ? .systemV(.id(id)) : given
        self.id = id
        self.mapping = mapping
        self.created = created
        self.access = access
        self.options = options
    }

    deinit {
        SegmentCall.detach(mapping.baseAddress)
        if created && options.removeWhenDeinitialized { try? remove() }
    }

    /// The id of the existing segment an identifier names (`shmget(key, 0, 0)`).
    static func existingID(_ identifier: SystemVIdentifier) throws(SharedMemoryError) -> Int32 {
        try identifier.existingID { key throws(SharedMemoryError) in
            try SegmentCall.find(key: key).get("shmget", .systemV(identifier))
        }
    }

    private static func attach(
        _ id: Int32, byteCount: Int, access: SharedRegionAccess, options: SharedRegionOptions, _ address: RegionAddress
    ) throws(SharedMemoryError) -> SharedRegionMapping {
        let base = try SegmentCall.attach(id, access: access).get("shmat", address)
        let mapping = SharedRegionMapping(baseAddress: base, byteCount: byteCount)
        do {
            try MappingSetup.apply(options, to: mapping, access: access, address: address)
        } catch {
            SegmentCall.detach(base)
            throw error
        }
        return mapping
    }

    static func segmentStatus(_ id: Int32, _ address: RegionAddress) throws(SharedMemoryError) -> SegmentStatus {
        try SegmentCall.status(id).get("shmctl(IPC_STAT)", address)
    }

    /// Marks the segment for removal (`shmctl(IPC_RMID)`): its key is free at once, and the
    /// memory goes when the last process detaches.
    public func remove() throws(SharedMemoryError) {
        try Self.removeSegment(id, address)
    }

    static func removeSegment(_ id: Int32, _ address: RegionAddress) throws(SharedMemoryError) {
        try SegmentCall.remove(id).get("shmctl(IPC_RMID)", address)
    }

    /// Size, mode, owner, attach count, creator and last pid, and times (`shmctl(IPC_STAT)`).
    public func status() throws(SharedMemoryError) -> SharedRegionStatus {
        SharedRegionStatus(address, segment: try Self.segmentStatus(id, address))
    }

    /// Changes the segment's mode (`shmctl(IPC_SET)`); owner or root only.
    public func setPermissions(_ permissions: FilePermissions) throws(SharedMemoryError) {
        try set { $0.shm_perm.mode = permissions.rawValue & 0o777 }
    }

    /// Gives the segment to another user and group (`shmctl(IPC_SET)`); owner or root only.
    public func setOwner(userID: UInt32, groupID: UInt32) throws(SharedMemoryError) {
        try set {
            $0.shm_perm.uid = userID
            $0.shm_perm.gid = groupID
        }
    }

    private func set(_ change: (inout SegmentStatus) -> Void) throws(SharedMemoryError) {
        var segment = try Self.segmentStatus(id, address)
        change(&segment)
        try SegmentCall.set(id, segment).get("shmctl(IPC_SET)", address)
    }

    /// Keeps the segment's pages in RAM, for every process (`shmctl(SHM_LOCK)`); needs
    /// `CAP_IPC_LOCK` or room under `RLIMIT_MEMLOCK`.
    public func lockInMemory() throws(SharedMemoryError) {
        try SegmentCall.lockInMemory(id, true).get("shmctl(SHM_LOCK)", address)
    }

    /// Lets the segment's pages be swapped again (`shmctl(SHM_UNLOCK)`).
    public func unlockFromMemory() throws(SharedMemoryError) {
        try SegmentCall.lockInMemory(id, false).get("shmctl(SHM_UNLOCK)", address)
    }
}
