#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import Synchronization
import SystemPackage

/// A file descriptor and its `MAP_SHARED` mapping: the part the POSIX, file and memfd
/// backends have in common. It owns both: `deinit` unmaps and closes.
final class MappedDescriptor: Sendable {
    let descriptor: Int32
    // Only `resize` and `remapped` change the mapping and access, one at a time under this
    // lock; they publish the result to `published`, which every access reads without a lock.
    private let state: Mutex<(mapping: SharedRegionMapping, access: SharedRegionAccess)>
    private let published: MappingSnapshot

    var mapping: SharedRegionMapping { published.read().mapping }
    var access: SharedRegionAccess { published.read().access }

    private init(descriptor: Int32, access: SharedRegionAccess, mapping: SharedRegionMapping) {
        self.descriptor = descriptor
        self.state = Mutex((mapping, access))
        self.published = MappingSnapshot(mapping, access)
    }

    deinit {
        let mapping = self.mapping
        munmap(mapping.baseAddress, mapping.byteCount)
        close(descriptor)
    }

    /// Runs `change` while this process maps nothing of the object, then maps it again at
    /// the same address: with `newAccess` if `change` succeeded, as before if it failed. For
    /// what the kernel refuses while a shared mapping exists (`F_SEAL_WRITE`). Meanwhile the
    /// address range holds an inaccessible private mapping, so nothing else can take it.
    func remapped(
        as newAccess: SharedRegionAccess, options: SharedRegionOptions, address: RegionAddress,
        around change: () throws(SharedMemoryError) -> Void
    ) throws(SharedMemoryError) {
        try state.withLock { (state: inout (mapping: SharedRegionMapping, access: SharedRegionAccess)) throws(SharedMemoryError) in
            // Readers wait meanwhile: the range is inaccessible until it is mapped again.
            published.beginChange()
            defer { published.endChange(state.mapping, state.access) }
            let (base, count) = (state.mapping.baseAddress, state.mapping.byteCount)
            _ = try SystemCall.pointer {
                mmap(base, count, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0)
            }.get("mmap", address)
            var outcome: SharedMemoryError?
            do throws(SharedMemoryError) { try change() } catch { outcome = error }
            let access = outcome == nil ? newAccess : state.access
            _ = try SystemCall.pointer { mmap(base, count, access.protection, MAP_SHARED | MAP_FIXED, descriptor, 0) }
                .get("mmap", address)
            state.access = access
            try MappingSetup.apply(options, to: state.mapping, access: access, address: address)
            if let outcome { throw outcome }
        }
    }

    /// Sizes a descriptor that was just created (`fchmod`, `ftruncate`, `fallocate`) and maps it.
    /// Takes ownership of `descriptor`: it is closed if anything fails.
    static func sizingNewObject(
        _ descriptor: Int32, byteCount: Int, permissions: FilePermissions, access: SharedRegionAccess,
        options: SharedRegionOptions, address: RegionAddress
    ) throws(SharedMemoryError) -> MappedDescriptor {
        do {
            // shm_open and open apply the umask; fchmod makes the mode exactly what was asked.
            _ = try SystemCall.value { fchmod(descriptor, permissions.rawValue) }.get("fchmod", address)
            _ = try SystemCall.value { ftruncate(descriptor, off_t(byteCount)) }.get("ftruncate", address)
            if options.reserveBackingStore { try reserve(descriptor, byteCount, address) }
            return try mapping(descriptor, byteCount: byteCount, access: access, options: options, address: address)
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// Maps an existing object, waiting (bounded) for its creator to size it; with
    /// `verifyingOwner`, first refuses an object whose owner is not trusted.
    /// Takes ownership of `descriptor`: it is closed if anything fails.
    static func openingExistingObject(
        _ descriptor: Int32, requestedByteCount: Int?, access: SharedRegionAccess,
        options: SharedRegionOptions, verifyingOwner: Bool, address: RegionAddress
    ) throws(SharedMemoryError) -> MappedDescriptor {
        do {
            let existing = try sizeOnceSized(descriptor, wait: options.sizeWait, address: address) { info throws(SharedMemoryError) in
                if verifyingOwner {
                    try OwnerTrust.check(
                        owner: info.st_uid, mode: info.st_mode, trustedOwners: options.trustedOwners, address: address)
                }
            }
            let byteCount = try RegionSize.forOpening(requested: requestedByteCount, existing: existing, address)
            return try mapping(descriptor, byteCount: byteCount, access: access, options: options, address: address)
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// Allocates the backing store up front (`fallocate`), so a full filesystem is an error
    /// here rather than a `SIGBUS` at first touch; a refusal names the room there is.
    private static func reserve(_ descriptor: Int32, _ byteCount: Int, _ address: RegionAddress) throws(SharedMemoryError) {
        if case .memfd = address { try Capacity.checkMemfdReservation(of: byteCount, address) }
        let reserved = SystemCall.value { CSharedMemoryShims_fallocate(descriptor, 0, 0, off_t(byteCount)) }
        if case .failure(let error) = reserved, error == .noSpace || error == .fileTooLarge {
            try Capacity.checkReservation(of: byteCount, address)
        }
        _ = try reserved.get("fallocate", address)
    }

    private static func mapping(
        _ descriptor: Int32, byteCount: Int, access: SharedRegionAccess, options: SharedRegionOptions,
        address: RegionAddress
    ) throws(SharedMemoryError) -> MappedDescriptor {
        let base = try SystemCall.pointer { mmap(nil, byteCount, access.protection, MAP_SHARED, descriptor, 0) }
            .get("mmap", address)
        let mapping = SharedRegionMapping(baseAddress: base, byteCount: byteCount)
        do {
            try MappingSetup.apply(options, to: mapping, access: access, address: address)
        } catch {
            munmap(base, byteCount)
            throw error
        }
        return MappedDescriptor(descriptor: descriptor, access: access, mapping: mapping)
    }

    /// The object's size from `fstat`, after waiting while it is still 0: an exclusive
    /// creator makes the object first and sizes it a moment later.
    private static func sizeOnceSized(
        _ descriptor: Int32, wait: Duration, address: RegionAddress,
        checkingFirst check: (stat) throws(SharedMemoryError) -> Void
    ) throws(SharedMemoryError) -> Int {
        var checked = false
        let size = try BoundedPoll.until(wait) { () throws(SharedMemoryError) -> Int? in
            let info = try fileStatus(descriptor, address: address)
            if !checked {
                try check(info)  // the owner, from the same fstat: one call on the common path
                checked = true
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw SharedMemoryError(
                    code: .wrongObjectType, operation: "fstat", address: address.description,
                    message: "the object is not a regular file", hint: "point the address at a regular file")
            }
            return info.st_size > 0 ? Int(info.st_size) : nil
        }
        guard let size else {
            throw SharedMemoryError(
                code: .notReady, operation: "fstat", address: address.description,
                message: "the object exists but has size 0 after waiting \(wait)",
                hint: "its creator may have died before sizing it; remove it with `shm remove \(address)` "
                    + "and create it again")
        }
        return size
    }

    static func fileStatus(_ descriptor: Int32, address: RegionAddress) throws(SharedMemoryError) -> stat {
        var info = stat()
        _ = try SystemCall.value { fstat(descriptor, &info) }.get("fstat", address)
        return info
    }

    /// `fstat`, as the backend-neutral status.
    func status(address: RegionAddress) throws(SharedMemoryError) -> SharedRegionStatus {
        SharedRegionStatus(address, try Self.fileStatus(descriptor, address: address))
    }

    /// Changes the object's size (`ftruncate`, `fallocate` when growing) and this process's
    /// mapping (`mremap`, which may move it).
    func resize(to byteCount: Int, options: SharedRegionOptions, address: RegionAddress) throws(SharedMemoryError) {
        try RegionSize.validate(byteCount, address)
        guard access == .readWrite else { throw .readOnly(address, operation: "resize") }
        try state.withLock { (state: inout (mapping: SharedRegionMapping, access: SharedRegionAccess)) throws(SharedMemoryError) in
            published.beginChange()
            defer { published.endChange(state.mapping, state.access) }
            let mapping = state.mapping
            // The object changes size first: if the kernel refuses (a sealed memfd, a full
            // disk), this process's mapping is left as it was.
            if byteCount < mapping.byteCount {
                _ = try SystemCall.value { ftruncate(descriptor, off_t(byteCount)) }.get("ftruncate", address)
            }
            if byteCount > mapping.byteCount {
                _ = try SystemCall.value { ftruncate(descriptor, off_t(byteCount)) }.get("ftruncate", address)
                if options.reserveBackingStore { try Self.reserve(descriptor, byteCount, address) }
            }
            let base = try SystemCall.pointer {
                CSharedMemoryShims_mremap(
                    mapping.baseAddress, mapping.byteCount, byteCount, CSharedMemoryShims_MREMAP_MAYMOVE)
            }.get("mremap", address)
            state.mapping = SharedRegionMapping(baseAddress: base, byteCount: byteCount)
        }
    }
}

extension SharedRegionStatus {
    /// The backend-neutral status from `stat`.
    init(_ address: RegionAddress, _ info: stat) {
        self.init(
            address: address, byteCount: Int(info.st_size),
            permissions: FilePermissions(rawValue: info.st_mode & 0o7777),
            ownerUserID: info.st_uid, ownerGroupID: info.st_gid)
        accessTime = UnixTime(info.st_atim)
        modificationTime = UnixTime(info.st_mtim)
        changeTime = UnixTime(info.st_ctim)
    }
}

extension UnixTime {
    init(_ time: timespec) {
        self.init(seconds: time.tv_sec, nanoseconds: time.tv_nsec)
    }
}
