/// One shared-memory object found on this machine by `SharedMemoryInventory.list`.
public struct SharedMemoryObject: Sendable, Hashable {
    /// A region of memory, or a System V semaphore set.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// A region of memory: System V segment, POSIX object, mapped file or memfd.
        case region
        /// A System V semaphore set (`semget`).
        case semaphoreSet = "semaphore-set"
    }

    /// Whether this is a region or a semaphore set.
    public var kind: Kind
    /// Address, size, mode, owner, and for System V the attach count and pids. For a
    /// semaphore set `byteCount` is 0 and `semaphoreCount` says how many it holds.
    public var status: SharedRegionStatus
    /// The kernel's id (System V only): what `sysv:id=N` and `ipcrm` take.
    public var systemVID: Int32?
    /// How many semaphores a semaphore set holds (`sem_nsems`).
    public var semaphoreCount: Int?
    /// Whether the process that created the object still runs (`kill(pid, 0)`, and a start
    /// time no later than the object's); `nil` where the kernel keeps no creator: POSIX and
    /// file objects, semaphore sets, and creators in another pid namespace.
    public var creatorAlive: Bool?
    /// The publish-subscribe or event service the region holds, with its ports and which of
    /// them are dead; `nil` for a region that holds none, or that this process may not open.
    public var service: ListedService?

    /// A System V segment whose creator is gone and which no process has attached: nothing
    /// can be using it, only a new opener would. POSIX and file objects and semaphore sets
    /// are never stale: the kernel records neither their creator nor who has them open.
    public var isStale: Bool {
        kind == .region && status.backend == .systemV && status.attachCount == 0 && creatorAlive == false
    }
}
