#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// What `shmctl(IPC_STAT)` fills in: size, mode, owner, attach count, pids and times.
typealias SegmentStatus = shmid_ds

/// The System V shared-memory calls, one wrapper each: the only place that calls `shmget`,
/// `shmat`, `shmdt` and `shmctl`. A call on an id that names no segment any more fails with
/// `EINVAL`; here it is `EIDRM`, which is `.notFound`: the segment was removed, perhaps
/// between `shmget` finding it by key and this call, and open-or-create tries again.
enum SegmentCall {
    /// `shmget(key, byteCount, IPC_CREAT | IPC_EXCL | mode [| SHM_HUGETLB])`.
    static func create(key: Int32, byteCount: Int, permissions: FilePermissions, hugePages: Bool) -> Result<Int32, Errno> {
        var flags = IPC_CREAT | IPC_EXCL | Int32(permissions.rawValue & 0o777)
        if hugePages { flags |= SHM_HUGETLB }
        return SystemCall.value { shmget(key, byteCount, flags) }
    }

    /// `shmget(key, 0, 0)`: the id of the segment that exists under `key`.
    static func find(key: Int32) -> Result<Int32, Errno> {
        SystemCall.value { shmget(key, 0, 0) }
    }

    /// `shmat(id, NULL, 0)`, or `SHM_RDONLY`.
    static func attach(_ id: Int32, access: SharedRegionAccess) -> Result<UnsafeMutableRawPointer, Errno> {
        SystemCall.pointer { shmat(id, nil, access == .readOnly ? SHM_RDONLY : 0) }.vanishedID
    }

    /// `shmdt`: cannot fail for an address `shmat` returned.
    static func detach(_ base: UnsafeMutableRawPointer) {
        shmdt(base)
    }

    /// `shmctl(IPC_STAT)`.
    static func status(_ id: Int32) -> Result<SegmentStatus, Errno> {
        var status = SegmentStatus()
        return SystemCall.value { shmctl(id, IPC_STAT, &status) }.map { _ in status }.vanishedID
    }

    /// `shmctl(IPC_SET)`: mode and owner from `status`.
    static func set(_ id: Int32, _ status: SegmentStatus) -> Result<Void, Errno> {
        var status = status
        return SystemCall.value { shmctl(id, IPC_SET, &status) }.map { _ in () }.vanishedID
    }

    /// `shmctl(IPC_RMID)`: the key is free at once; the memory goes with the last detach.
    static func remove(_ id: Int32) -> Result<Void, Errno> {
        SystemCall.value { shmctl(id, IPC_RMID, nil) }.map { _ in () }.vanishedID
    }

    /// `shmctl(SHM_LOCK)` or `shmctl(SHM_UNLOCK)`.
    static func lockInMemory(_ id: Int32, _ locked: Bool) -> Result<Void, Errno> {
        SystemCall.value { shmctl(id, locked ? SHM_LOCK : SHM_UNLOCK, nil) }.map { _ in () }.vanishedID
    }
}

extension Result where Failure == Errno {
    /// `EINVAL` from a call on a segment or semaphore set id, whose other arguments were
    /// checked, means nothing has that id (any more): removed by another process, perhaps
    /// right after this one created it. As `EIDRM` it is `.notFound`, which open-or-create
    /// answers by trying again, on the open and the create path.
    var vanishedID: Result<Success, Errno> {
        mapError { $0 == .invalidArgument ? .identifierRemoved : $0 }
    }
}

extension SharedRegionStatus {
    /// What `shmctl(IPC_STAT)` reported, as every backend reports it.
    init(_ address: RegionAddress, segment: SegmentStatus) {
        self.init(
            address: address, byteCount: Int(segment.shm_segsz),
            permissions: FilePermissions(rawValue: UInt32(segment.shm_perm.mode) & 0o777),
            ownerUserID: segment.shm_perm.uid, ownerGroupID: segment.shm_perm.gid)
        attachCount = Int(segment.shm_nattch)
        creatorProcessID = segment.shm_cpid
        lastProcessID = segment.shm_lpid
        attachTime = segment.shm_atime == 0 ? nil : UnixTime(seconds: segment.shm_atime)
        detachTime = segment.shm_dtime == 0 ? nil : UnixTime(seconds: segment.shm_dtime)
        changeTime = UnixTime(seconds: segment.shm_ctime)
    }
}
