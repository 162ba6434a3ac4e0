#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// What the kernel reports about a semaphore set (`semctl(IPC_STAT)`, `struct semid_ds`).
public struct SemaphoreSetStatus: Sendable, Hashable {
    /// The set's address (`sysv:KEY`, or `sysv:id=N` for a private set).
    public var address: RegionAddress
    /// How many semaphores the set holds (`sem_nsems`).
    public var count: Int
    /// The permission bits (`0600` by default).
    public var permissions: FilePermissions
    /// The owner's user id (`sem_perm.uid`); `IPC_SET` can change it.
    public var ownerUserID: UInt32
    /// The owner's group id (`sem_perm.gid`); `IPC_SET` can change it.
    public var ownerGroupID: UInt32
    /// Who created the set (`cuid`, `cgid`); unlike the owner, this never changes.
    public var creatorUserID: UInt32
    /// The creator's group id (`sem_perm.cgid`).
    public var creatorGroupID: UInt32
    /// The last `semop` on the set (`sem_otime`); `nil` if there was none.
    public var lastOperationTime: UnixTime?
    /// The last change by `semctl`: creation, values set, mode or owner (`sem_ctime`).
    public var changeTime: UnixTime

    init(_ status: semid_ds, address: RegionAddress) {
        self.address = address
        count = Int(status.sem_nsems)
        permissions = FilePermissions(rawValue: UInt32(status.sem_perm.mode) & 0o777)
        ownerUserID = status.sem_perm.uid
        ownerGroupID = status.sem_perm.gid
        creatorUserID = status.sem_perm.cuid
        creatorGroupID = status.sem_perm.cgid
        lastOperationTime = status.sem_otime == 0 ? nil : UnixTime(seconds: status.sem_otime)
        changeTime = UnixTime(seconds: status.sem_ctime)
    }
}
