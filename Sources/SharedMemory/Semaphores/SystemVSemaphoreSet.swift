#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import SystemPackage

/// A System V semaphore set: `semget`, `semop`/`semtimedop` and `semctl`, typed.
///
/// The set lives in the kernel until `remove()` (`semctl(IPC_RMID)`) or reboot; `ipcs -s`
/// lists it. It is found by the same addresses as System V regions (`sysv:KEY`,
/// `sysv:ftok:/PATH#PROJ`, `sysv:private`, `sysv:id=N`), and a C program calling
/// `semget(KEY, ...)` meets the same set. Dropping the object changes nothing in the kernel.
///
/// Creation and initialisation are two calls in System V (`semget`, then `semctl(SETALL)`),
/// so an opener could see a set whose values are not set yet. This type closes that gap for
/// the sets it creates: it creates them marked (the execute bit for others, 0o001, which means
/// nothing to a semaphore), sets the values, stamps `sem_otime` with a `semop` that changes
/// nothing (as C programs following Stevens expect), then clears the mark (`IPC_SET`). An
/// opener waits, bounded by `initializationWait`, only for a set that carries the mark and
/// that nothing has touched yet (`sem_otime` 0 and `GETPID` 0 for every semaphore); a set
/// whose creator died in between is reported as `.notReady`. Every other set, such as one
/// made by C, Python's `sysv_ipc` or Perl with `semget` and `SETVAL`/`SETALL` and no `semop`,
/// is used at once, as `semop` from C would use it.
///
/// Opening checks the owner as regions do: a set whose owner or creator uid is neither this
/// process's user, root, nor in `trustedOwners` is refused with `.untrustedOwner`.
public final class SystemVSemaphoreSet: Sendable {
    /// The address that reopens the set (`sysv:id=N` for a set created with `sysv:private`).
    public let address: RegionAddress
    /// The kernel's id for the set (`semid`), as `ipcs -s` shows it.
    public let id: Int32
    /// How many semaphores the set holds; fixed when it was created.
    public let count: Int
    /// Whether this object created the set (as opposed to opening it).
    public let created: Bool

    /// Creates or opens a semaphore set (`semget`).
    ///
    /// - Parameters:
    ///   - identifier: a key, an `ftok` path and project, an id (open only) or `.private` (create only).
    ///   - count: semaphores to create with (1…SEMMSL); when opening, `nil` takes the set as it
    ///     is and a number must match the set's.
    ///   - mode: create (`IPC_CREAT | IPC_EXCL`), open (`semget(key, 0, 0)`), or open-or-create
    ///     without a race (`created` tells which happened; an existing set keeps its values).
    ///   - permissions: the set's mode; 0600 by default (System V ignores the umask).
    ///   - initialValues: one value per semaphore (0…32767), set with `semctl(SETALL)` on creation;
    ///     all 0 when `nil`. `count` may be left out when these are given.
    ///   - initializationWait: how long an opener waits for a creator using this library to
    ///     finish initialising (the set is marked and untouched); `.zero` never waits.
    ///   - trustedOwners: user ids whose sets to open besides this process's user and root
    ///     (the owner and the creator uid must both be trusted).
    public init(
        _ identifier: SystemVIdentifier, count: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        permissions: FilePermissions = .ownerReadWrite, initialValues: [Int]? = nil,
        initializationWait: Duration = .seconds(2), trustedOwners: Set<UInt32> = []
    ) throws(SharedMemoryError) {
        let given = RegionAddress.systemV(identifier)
        try identifier.checkOpenMode(mode)
        let resolved = try identifier.resolvingFtok()
        let wanted = try SemaphoreInput.count(count, initialValues: initialValues, given)
        let ((id, count), created) = try OpenProcedure.run(
            mode, size: wanted, address: given,
            create: { () throws(SharedMemoryError) in
                let count = try SemaphoreInput.countForCreating(wanted, given)
                let key = try resolved.creationKey()
                // Marked from the first instant, so no opener ever takes it for a foreign set.
                let created = SemaphoreCall.create(
                    key: key, count: count, mode: permissions.rawValue & 0o777 | Self.initializingMark)
                if case .failure(let error) = created, error != .fileExists {
                    try Capacity.checkSemaphoreSet(of: count, given)  // name the limit that refused it
                }
                let id = try created.get("semget", given)
                do throws(SharedMemoryError) {
                    try Self.initialize(
                        id, values: initialValues ?? Array(repeating: 0, count: count), permissions: permissions, given)
                } catch {
                    _ = SemaphoreCall.remove(id)  // leave nothing half-made behind
                    throw error
                }
                return (id, count)
            },
            open: { () throws(SharedMemoryError) in
                let id = try Self.existingID(resolved)
                let status = try Self.kernelStatus(id, given)
                try OwnerTrust.check(
                    owner: status.sem_perm.uid, creator: status.sem_perm.cuid, mode: UInt32(status.sem_perm.mode),
                    trustedOwners: trustedOwners, address: given, semaphoreSet: true)
                let existing = try Self.initializedCount(id, status, wait: initializationWait, given)
                if let wanted, wanted != existing {
                    throw SharedMemoryError(
                        code: .invalidSize, operation: "semget", address: given.description,
                        message: "the set holds \(existing) semaphores, not the \(wanted) asked for",
                        hint: "open it with count: \(existing), or count: nil to take it as it is")
                }
                return (id, existing)
            })
        // A private set can only be found again by its id.
        self.address = identifier == .private ? .systemV(.id(id)) : given
        self.id = id
        self.count = count
        self.created = created
    }

    /// Parses a `sysv:` address, then creates or opens the set as `init(_:count:mode:...)` does.
    public convenience init(
        _ address: RegionAddress, count: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        permissions: FilePermissions = .ownerReadWrite, initialValues: [Int]? = nil,
        initializationWait: Duration = .seconds(2), trustedOwners: Set<UInt32> = []
    ) throws(SharedMemoryError) {
        try self.init(
            SemaphoreInput.identifier(of: address), count: count, mode: mode, permissions: permissions,
            initialValues: initialValues, initializationWait: initializationWait, trustedOwners: trustedOwners)
    }

    /// Parses `address` (`"sysv:0x5e3a"`), then creates or opens the set.
    public convenience init(
        _ address: String, count: Int? = nil, mode: SharedRegionOpenMode = .openOrCreate,
        permissions: FilePermissions = .ownerReadWrite, initialValues: [Int]? = nil,
        initializationWait: Duration = .seconds(2), trustedOwners: Set<UInt32> = []
    ) throws(SharedMemoryError) {
        try self.init(
            RegionAddress(parsing: address), count: count, mode: mode, permissions: permissions,
            initialValues: initialValues, initializationWait: initializationWait, trustedOwners: trustedOwners)
    }

    /// The mode bit a set carries while this library initialises it: execute for others, which
    /// no semaphore operation looks at.
    static let initializingMark: UInt32 = 0o001

    /// Sets the values, stamps `sem_otime` with a `semop` that changes nothing (+1 and -1 on
    /// semaphore 0 in one atomic call; -1 then +1 when it is at the maximum), then clears the
    /// mark. Each step alone already tells an opener the values are in.
    private static func initialize(
        _ id: Int32, values: [Int], permissions: FilePermissions, _ address: RegionAddress
    ) throws(SharedMemoryError) {
        // Another process may remove the new set by key at any point (`vanishedID`): that is
        // `.notFound`, and open-or-create tries again.
        try SemaphoreCall.setValues(id, values.map { UInt16($0) }).vanishedID.get("semctl(SETALL)", address)
        let up = sembuf(sem_num: 0, sem_op: 1, sem_flg: Int16(IPC_NOWAIT))
        let down = sembuf(sem_num: 0, sem_op: -1, sem_flg: Int16(IPC_NOWAIT))
        var stamp = values[0] < SemaphoreLimits.maximumValue ? [up, down] : [down, up]
        try SemaphoreCall.operate(id, &stamp, timeout: nil).vanishedID.get("semop", address)
        var status = try kernelStatus(id, address)
        status.sem_perm.mode = permissions.rawValue & 0o777
        try SemaphoreCall.set(id, status).vanishedID.get("semctl(IPC_SET)", address)
    }

    /// The set's size once it is ready to use, waiting up to `wait` for a creator using this
    /// library to finish: only a set with the mark that nothing has touched yet is waited for.
    private static func initializedCount(_ id: Int32, _ status: semid_ds, wait: Duration, _ address: RegionAddress)
        throws(SharedMemoryError) -> Int
    {
        let count = Int(status.sem_nsems)
        guard wait > .zero, try isBeingInitialized(id, status, address) else { return count }
        let ready = try BoundedPoll.until(wait) { () throws(SharedMemoryError) -> Bool? in
            try isBeingInitialized(id, kernelStatus(id, address), address) ? nil : true
        }
        guard ready == nil else { return count }
        throw SharedMemoryError(
            code: .notReady, operation: "semget", address: address.description,
            message: "the set carries this library's mark of a set being initialised (mode bit 0001), but "
                + "neither semop, SETVAL nor SETALL has touched it after waiting \(wait)",
            hint: "its creator may have died half-way: remove it with `shm sem remove \(address)` and create "
                + "it again; to use it as it is, open it with initializationWait: .zero")
    }

    /// Marked, and untouched: no `semop` (`sem_otime`), and no `semop`, `SETVAL` or `SETALL` on
    /// any semaphore (`GETPID` 0 for each; Linux sets it for `SETALL` since 4.6, and the stamp
    /// covers older kernels). Only a marked set pays for the `GETPID`s.
    private static func isBeingInitialized(_ id: Int32, _ status: semid_ds, _ address: RegionAddress)
        throws(SharedMemoryError) -> Bool
    {
        guard UInt32(status.sem_perm.mode) & initializingMark != 0, status.sem_otime == 0 else { return false }
        for index in 0..<Int32(status.sem_nsems) {
            let lastPID = try SemaphoreCall.query(id, Int(index), .lastProcessID).get("semctl(GETPID)", semaphoreSet: address)
            if lastPID != 0 { return false }
        }
        return true
    }

    /// The id of the existing set an identifier names (`semget(key, 0, 0)`).
    static func existingID(_ identifier: SystemVIdentifier) throws(SharedMemoryError) -> Int32 {
        try identifier.existingID { key throws(SharedMemoryError) in
            try SemaphoreCall.find(key: key).get("semget", .systemV(identifier))
        }
    }

    static func kernelStatus(_ id: Int32, _ address: RegionAddress) throws(SharedMemoryError) -> semid_ds {
        try SemaphoreCall.status(id).get("semctl(IPC_STAT)", semaphoreSet: address)
    }

    /// Removes the set at once (`semctl(IPC_RMID)`): every process waiting on it wakes with
    /// a `.notFound` error that says it was removed while waiting.
    public func remove() throws(SharedMemoryError) {
        try Self.removeSet(id, address)
    }

    /// Removes the set at a `sysv:` address without opening it (`semget(key, 0, 0)`, then
    /// `semctl(IPC_RMID)`).
    public static func remove(_ address: RegionAddress) throws(SharedMemoryError) {
        do throws(SharedMemoryError) {
            try removeSet(existingID(SemaphoreInput.identifier(of: address)), address)
        } catch where error.code == .notFound {
            throw error.nothingToRemove(address, listing: "`ipcs -s` or `shm list`")
        }
    }

    private static func removeSet(_ id: Int32, _ address: RegionAddress) throws(SharedMemoryError) {
        try SemaphoreCall.remove(id).get("semctl(IPC_RMID)", semaphoreSet: address)
    }
}
