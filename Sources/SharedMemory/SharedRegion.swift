import SystemPackage

/// Memory shared between processes, whatever the mechanism behind it.
///
/// `SystemVRegion`, `POSIXRegion`, `MappedFileRegion` and `MemfdRegion` conform and keep
/// the same guarantees (see Docs/Backends.md): `byteCount` is exactly what was asked, the
/// mapping lives as long as the object (its `deinit` unmaps), `remove()` makes the name
/// disappear at once while every mapping stays valid, and nothing is removed implicitly.
///
/// Reach the bytes with the bounded `withUnsafeBytes` / `withUnsafeMutableBytes`, or
/// with `read(at:count:)` / `write(_:at:)`. Each process maps the region at its own
/// address: store offsets inside it, never pointers.
public protocol SharedRegion: AnyObject, Sendable {
    /// The address that reopens this object (`sysv:id=N` for a private System V segment).
    var address: RegionAddress { get }
    /// Whether this process may write through the mapping.
    var access: SharedRegionAccess { get }
    /// Whether the call that made this object created it (as opposed to opening it).
    var created: Bool { get }
    /// Where the bytes are in this process, and how many: changes only on `resize`.
    var mapping: SharedRegionMapping { get }
    /// Removes the name (`shmctl(IPC_RMID)`, `shm_unlink`, `unlink`); mappings stay valid.
    func remove() throws(SharedMemoryError)
    /// What the kernel reports about the object (`shmctl(IPC_STAT)` or `fstat`).
    func status() throws(SharedMemoryError) -> SharedRegionStatus
}

/// A region whose size can change after creation: POSIX, file and memfd (`ftruncate` + `mremap`).
public protocol ResizableRegion: SharedRegion {
    /// Changes the object's size and remaps it here; pointers taken before become invalid.
    func resize(to byteCount: Int) throws(SharedMemoryError)
}

/// The span of a region mapped into this process.
public struct SharedRegionMapping: @unchecked Sendable, Hashable {
    // @unchecked: a raw pointer is not Sendable, but the memory it points at is shared
    // across processes by design; synchronising access to it is the caller's job.

    /// The first byte of the mapping in this process.
    public let baseAddress: UnsafeMutableRawPointer
    /// The bytes asked for, exactly; reading or writing past them is refused.
    public let byteCount: Int
    /// `byteCount` rounded up to whole pages: what the kernel actually mapped.
    public let mappedByteCount: Int

    init(baseAddress: UnsafeMutableRawPointer, byteCount: Int, mappedByteCount: Int? = nil) {
        self.baseAddress = baseAddress
        self.byteCount = byteCount
        self.mappedByteCount = mappedByteCount ?? PageSize.roundUp(byteCount)
    }
}

/// Whether a region is mapped for reading only or for reading and writing.
public enum SharedRegionAccess: String, Sendable, Hashable, Codable, CaseIterable {
    /// `SHM_RDONLY`, `O_RDONLY` + `PROT_READ`.
    case readOnly
    /// `PROT_READ | PROT_WRITE`.
    case readWrite
}

/// How `SharedRegions.open` treats an existing object.
public enum SharedRegionOpenMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Create a new object; fail with `.alreadyExists` if the name is taken (`IPC_EXCL`, `O_EXCL`).
    case create
    /// Open an existing object; fail with `.notFound` if there is none.
    case open
    /// Create, or open what is there, without a race; `created` tells which happened.
    case openOrCreate
}

/// Whether `flush` waits for the write-back (`MS_SYNC`) or only schedules it (`MS_ASYNC`).
public enum SharedRegionFlushMode: Sendable, Hashable {
    /// `MS_SYNC`: return once the pages are written back.
    case synchronous
    /// `MS_ASYNC`: schedule the write-back and return at once.
    case asynchronous
}

/// Optional behaviour when opening a region. The defaults suit most programs.
public struct SharedRegionOptions: Sendable, Hashable {
    /// Fault every page in writable at open (`madvise(MADV_POPULATE_WRITE)`), so that first
    /// touches do not pay for page faults later. Off by default.
    public var prefault = false
    /// On creation, reserve the backing store (`fallocate`) so that a full filesystem is an
    /// error now, not a `SIGBUS` at first touch. On by default; System V reserves by itself.
    public var reserveBackingStore = true
    /// Keep the pages in RAM (`mlock`); needs `RLIMIT_MEMLOCK` room or `CAP_IPC_LOCK`.
    public var lockInMemory = false
    /// Back the region with huge pages (`SHM_HUGETLB`, `MFD_HUGETLB`, or `MADV_HUGEPAGE` on
    /// tmpfs); a typed `.unsupported` error where the kernel has none to give.
    public var hugePages = false
    /// Remove the name when this object is deinitialized, if this object created it.
    public var removeWhenDeinitialized = false
    /// How long an opener waits for a POSIX or file object that exists but that its
    /// creator has not sized yet, before failing with `.notReady`.
    public var sizeWait: Duration = .seconds(2)
    /// Owners (user ids) whose objects `open` accepts besides this process's effective user
    /// and root. Opening an existing POSIX, file or System V object checks its owner (`fstat`
    /// on the opened descriptor, `shmctl(IPC_STAT)` for System V, where the creator must be
    /// trusted too) and refuses anyone else's with `.untrustedOwner`: an object another user
    /// created under the expected name (squatting) is never used by accident.
    public var trustedOwners: Set<UInt32> = []

    /// The defaults: no prefault, backing store reserved, no `mlock`, no huge pages, kept on
    /// deinit, a 2-second size wait, only this user and root trusted.
    public init() {}

    /// The defaults.
    public static var `default`: SharedRegionOptions { SharedRegionOptions() }
}

/// What the kernel reports about a shared-memory object.
///
/// Fields a backend does not know are `nil`: only System V counts attaches and records
/// the creator and last process.
public struct SharedRegionStatus: Sendable, Hashable {
    /// The object's address, as `RegionAddress` prints and parses it.
    public var address: RegionAddress
    /// The mechanism behind the object, from its address.
    public var backend: SharedRegionBackend { address.backend }
    /// The object's size in bytes as the kernel records it.
    public var byteCount: Int
    /// The permission bits (`0600` by default).
    public var permissions: FilePermissions
    /// The owner's user id (`shm_perm.uid`, `st_uid`).
    public var ownerUserID: UInt32
    /// The owner's group id (`shm_perm.gid`, `st_gid`).
    public var ownerGroupID: UInt32
    /// System V: processes attached now (`shm_nattch`).
    public var attachCount: Int?
    /// System V: the process that created the segment (`shm_cpid`).
    public var creatorProcessID: Int32?
    /// System V: the last process to attach or detach (`shm_lpid`).
    public var lastProcessID: Int32?
    /// System V: last attach, detach and change times (`shm_atime`, `shm_dtime`, `shm_ctime`);
    /// other backends: last access, modification and status change (`st_atim`, `st_mtim`, `st_ctim`).
    public var attachTime: UnixTime?
    /// System V: the last detach (`shm_dtime`).
    public var detachTime: UnixTime?
    /// The last change of the object's status: `shm_ctime`, or `st_ctim`.
    public var changeTime: UnixTime?
    /// POSIX, file and memfd: the last access (`st_atim`).
    public var accessTime: UnixTime?
    /// POSIX, file and memfd: the last modification (`st_mtim`).
    public var modificationTime: UnixTime?

    init(address: RegionAddress, byteCount: Int, permissions: FilePermissions, ownerUserID: UInt32, ownerGroupID: UInt32) {
        self.address = address
        self.byteCount = byteCount
        self.permissions = permissions
        self.ownerUserID = ownerUserID
        self.ownerGroupID = ownerGroupID
    }
}

/// A point in time as seconds since the Unix epoch, as the kernel reports it.
public struct UnixTime: Sendable, Hashable, Codable, Comparable {
    /// Whole seconds since 1970-01-01 00:00 UTC (`tv_sec`).
    public var seconds: Int
    /// Nanoseconds past `seconds`, 0…999,999,999 (`tv_nsec`).
    public var nanoseconds: Int

    /// A time of `seconds` and `nanoseconds` since the epoch, as the kernel gives it.
    public init(seconds: Int, nanoseconds: Int = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func < (lhs: UnixTime, rhs: UnixTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}

extension FilePermissions {
    /// The bits as people write them for `chmod`: `"0600"`.
    public var octal: String {
        let digits = String(rawValue, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
