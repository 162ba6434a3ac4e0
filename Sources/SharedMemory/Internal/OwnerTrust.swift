#if canImport(Glibc)
import Glibc
#endif

/// Whose objects `open` accepts: this process's effective user, root, and the trusted owners
/// the caller names (`SharedRegionOptions.trustedOwners`, `SystemVSemaphoreSet`'s
/// `trustedOwners:`). Anyone else may have created the object under the
/// name we expected (squatting) to read what we write or to feed us what we read.
enum OwnerTrust {
    /// Refuses an object whose owner, or System V creator, is not trusted.
    ///
    /// Called with what `fstat` says of the descriptor already opened, or what
    /// `shmctl(IPC_STAT)` / `semctl(IPC_STAT)` says of the id about to be used: the object
    /// checked is the object used, with no window for it to be swapped by name in between.
    static func check(
        owner: UInt32, creator: UInt32? = nil, mode: UInt32, trustedOwners: Set<UInt32>, address: RegionAddress,
        semaphoreSet: Bool = false
    ) throws(SharedMemoryError) {
        // No set or array built here: this runs on every open.
        let effectiveUserID = geteuid()
        func trusted(_ uid: UInt32) -> Bool { uid == effectiveUserID || uid == 0 || trustedOwners.contains(uid) }
        // A System V owner can hand the segment to any uid (IPC_SET), even root's; the
        // creator uid it cannot change.
        let untrusted = trusted(owner) ? creator.flatMap { trusted($0) ? nil : $0 } : owner
        guard let untrusted else { return }
        let creatorNote = untrusted == owner ? "" : "it was created by uid \(untrusted), which is not trusted; "
        let (parameter, remove) =
            semaphoreSet
            ? ("SystemVSemaphoreSet's trustedOwners:", "shm sem remove")
            : ("SharedRegionOptions.trustedOwners", "shm remove")
        throw SharedMemoryError(
            code: .untrustedOwner, operation: semaphoreSet ? "semget" : "open", address: address.description,
            message: creatorNote + ObjectOwnership.owned(uid: owner, mode: mode & 0o7777)
                + (untrusted == owner ? ", an owner this process does not trust" : ""),
            hint: "if that user is expected, trust it with \(parameter) (shm: --trust-owner \(untrusted)); "
                + "otherwise someone may be squatting on the name: remove it (`\(remove) \(address)` "
                + "as root or its owner) and create it again")
    }
}
