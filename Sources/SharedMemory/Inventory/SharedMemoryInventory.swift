import SystemPackage

/// Every shared-memory object on this machine, across mechanisms, and the removal of what
/// crashed processes left behind.
public enum SharedMemoryInventory {
    /// Lists the objects of `backends`: System V segments (`/proc/sysvipc/shm`) and
    /// semaphore sets (`/proc/sysvipc/sem`), POSIX objects (the regular files of `/dev/shm`,
    /// `lstat`), and with `fileDirectory` the regular files there. memfd objects have no
    /// name and are never listed.
    ///
    /// System V objects are those of this process's IPC namespace; segments are read from
    /// the table, so their attach count is not changed by looking.
    public static func list(
        backends: Set<SharedRegionBackend> = [.systemV, .posix, .file], fileDirectory: FilePath? = nil
    ) throws(SharedMemoryError) -> [SharedMemoryObject] {
        var objects: [SharedMemoryObject] = []
        if backends.contains(.systemV) { objects += systemVSegments() + systemVSemaphoreSets() }
        if backends.contains(.posix) {
            objects += try files(in: "/dev/shm") { name in try? RegionAddress(parsing: "posix:/" + name) }
        }
        if backends.contains(.file), let directory = fileDirectory {
            let base = directory.string.hasSuffix("/") ? String(directory.string.dropLast()) : directory.string
            objects += try files(in: base.isEmpty ? "/" : base) { name in try? RegionAddress(parsing: "file:\(base)/\(name)") }
        }
        return objects
    }

    /// What `removeStale` did: the objects removed, and those it could not remove.
    public struct StaleRemoval: Sendable {
        /// The objects removed (`shmctl(IPC_RMID)`, `semctl(IPC_RMID)`).
        public var removed: [SharedMemoryObject] = []
        /// The objects that were stale but could not be removed, each with the reason.
        public var failures: [(object: SharedMemoryObject, error: SharedMemoryError)] = []
    }

    /// Removes every stale System V segment (`isStale`: creator gone, nothing attached) with
    /// `shmctl(IPC_RMID)`, or only those among `addresses`. Each one's status is read again
    /// (`IPC_STAT`) just before removing it, so a segment someone attached meanwhile is kept.
    ///
    /// "Stale" is what the kernel can tell: a segment made on purpose by a program that has
    /// since exited (`shm create`) looks the same as one a crash left. Pass `addresses` where
    /// other programs may rely on such segments.
    public static func removeStale(among addresses: [RegionAddress]? = nil) -> StaleRemoval {
        let wanted = addresses.map { Set($0.compactMap(systemVID)) }
        var result = StaleRemoval()
        for object in systemVSegments() where object.isStale {
            guard let id = object.systemVID, wanted?.contains(id) ?? true else { continue }
            do throws(SharedMemoryError) {
                let now = try SystemVRegion.segmentStatus(id, object.status.address)
                guard now.shm_nattch == 0, now.shm_cpid == object.status.creatorProcessID else { continue }
                try SystemVRegion.removeSegment(id, object.status.address)
                result.removed.append(object)
            } catch where error.code == .notFound || error.errno == .invalidArgument {
                continue  // removed by someone else meanwhile
            } catch {
                result.failures.append((object, error))
            }
        }
        return result
    }

    private static func systemVID(_ address: RegionAddress) -> Int32? {
        guard case .systemV(let identifier) = address else { return nil }
        return try? SystemVRegion.existingID(identifier)
    }

    /// `sysv:KEY`, or `sysv:id=N` for a private object (key 0).
    private static func systemVAddress(key: Int32, id: Int32) -> RegionAddress {
        .systemV(key == 0 ? .id(id) : .key(key))
    }

    private static func systemVSegments() -> [SharedMemoryObject] {
        SystemVTable.segments().map { segment in
            var status = SharedRegionStatus(
                address: systemVAddress(key: segment.key, id: segment.id), byteCount: segment.byteCount,
                permissions: FilePermissions(rawValue: segment.mode), ownerUserID: segment.uid, ownerGroupID: segment.gid)
            status.attachCount = segment.attachCount
            status.creatorProcessID = segment.creatorPID
            status.lastProcessID = segment.lastPID
            status.attachTime = segment.attachTime == 0 ? nil : UnixTime(seconds: segment.attachTime)
            status.detachTime = segment.detachTime == 0 ? nil : UnixTime(seconds: segment.detachTime)
            status.changeTime = UnixTime(seconds: segment.changeTime)
            // shm_ctime is the creation time unless IPC_SET changed it later, which only
            // makes a reused pid look alive: the safe side.
            let alive = ProcessIdentity.isAlive(pid: segment.creatorPID, createdAt: segment.changeTime)
            return SharedMemoryObject(kind: .region, status: status, systemVID: segment.id, creatorAlive: alive)
        }
    }

    private static func systemVSemaphoreSets() -> [SharedMemoryObject] {
        SystemVTable.semaphoreSets().map { set in
            var status = SharedRegionStatus(
                address: systemVAddress(key: set.key, id: set.id), byteCount: 0,
                permissions: FilePermissions(rawValue: set.mode), ownerUserID: set.uid, ownerGroupID: set.gid)
            status.changeTime = UnixTime(seconds: set.changeTime)
            return SharedMemoryObject(kind: .semaphoreSet, status: status, systemVID: set.id, semaphoreCount: set.count)
        }
    }

    private static func files(in directory: String, address: (String) -> RegionAddress?) throws(SharedMemoryError)
        -> [SharedMemoryObject]
    {
        try DirectoryListing.regularFiles(in: directory).compactMap { file in
            address(file.name).map { SharedMemoryObject(kind: .region, status: SharedRegionStatus($0, file.info)) }
        }
    }
}
