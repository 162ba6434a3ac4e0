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
    /// the table, so the attach counts listed are those from before looking.
    ///
    /// With `services`, each region of this user (or of `trustedOwners`) is opened (`shm_open`,
    /// `shmat` or `open`, then `mmap`; a System V segment is attached for that moment) to see
    /// whether it holds a publish-subscribe or event service, and whose ports are attached.
    ///
    /// - Parameters:
    ///   - backends: the mechanisms whose objects are listed.
    ///   - fileDirectory: a directory whose regular files are listed as `file:` regions.
    ///   - services: whether to open each region to find the service it holds (`SharedMemoryObject.service`).
    public static func list(
        backends: Set<SharedRegionBackend> = [.systemV, .posix, .file], fileDirectory: FilePath? = nil,
        services: Bool = true
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
        if services {
            for index in objects.indices where objects[index].kind == .region {
                guard let region = try? openService(objects[index]) else { continue }
                objects[index].service = try? ListedService.find(in: region)
            }
        }
        return objects
    }

    /// The publish-subscribe or event service at `address`, with its ports; `nil` when the region
    /// there holds none (`shm_open`, `shmat` or `open`, then `mmap`, without waiting for a size).
    ///
    /// - Parameter address: a named region's address.
    /// - Throws: as `SharedRegions.open` (`.notFound`, `.untrustedOwner`); what opening the
    ///   service throws for a region that claims to hold one but breaks its rules.
    public static func service(at address: RegionAddress) throws -> ListedService? {
        var options = SharedRegionOptions.default
        options.sizeWait = .zero
        return try ListedService.find(in: try SharedRegions.open(address, mode: .open, options: options))
    }

    /// The region of `object` if it may hold a service: one a header fits in, opened without
    /// waiting for a size.
    private static func openService(_ object: SharedMemoryObject) throws -> (any SharedRegion)? {
        guard object.status.byteCount >= RegionLayout.headerByteCount else { return nil }
        var options = SharedRegionOptions.default
        options.sizeWait = .zero
        return try SharedRegions.open(object.status.address, mode: .open, options: options)
    }

    /// What `removeStale` did: the objects removed, the services whose dead ports were cleaned,
    /// and those it could not handle.
    public struct StaleRemoval: Sendable {
        /// The objects removed (`shmctl(IPC_RMID)`, `semctl(IPC_RMID)`).
        public var removed: [SharedMemoryObject] = []
        /// The services whose dead ports were cleaned; each one's `service` lists the ports cleaned.
        public var cleaned: [SharedMemoryObject] = []
        /// The objects that were stale but could not be removed or cleaned, each with the reason.
        public var failures: [(object: SharedMemoryObject, error: SharedMemoryError)] = []
    }

    /// Cleans the dead ports of every service (`ListedService.deadPorts`: their chunks return to
    /// the pool, their slots are freed, subscribers learn of a dead publisher), then removes every
    /// stale System V segment (`isStale`: creator gone, nothing attached) with `shmctl(IPC_RMID)`;
    /// or only among `addresses`. Each segment's status is read again (`IPC_STAT`) just before
    /// removing it, so a segment someone attached meanwhile is kept. A POSIX or file region is
    /// never removed: nothing tells whether a program means to open it again.
    ///
    /// "Stale" is what the kernel can tell: a segment made on purpose by a program that has
    /// since exited (`shm create`) looks the same as one a crash left. Pass `addresses` where
    /// other programs may rely on such segments.
    ///
    /// - Parameters:
    ///   - addresses: the objects to consider; all when `nil`.
    ///   - backends: the mechanisms whose objects are considered when `addresses` is `nil`.
    ///   - fileDirectory: a directory whose files are considered as `file:` regions.
    public static func removeStale(
        among addresses: [RegionAddress]? = nil, backends: Set<SharedRegionBackend> = [.systemV, .posix, .file],
        fileDirectory: FilePath? = nil
    ) -> StaleRemoval {
        var result = StaleRemoval()
        cleanDeadPorts(among: addresses, backends: backends, fileDirectory: fileDirectory, into: &result)
        guard backends.contains(.systemV) else { return result }
        let wanted = addresses.map { Set($0.compactMap(systemVID)) }
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

    private static func cleanDeadPorts(
        among addresses: [RegionAddress]?, backends: Set<SharedRegionBackend>, fileDirectory: FilePath?,
        into result: inout StaleRemoval
    ) {
        let objects: [SharedMemoryObject]
        if let addresses {
            objects = addresses.compactMap { address in
                guard let status = try? SharedRegions.status(of: address) else { return nil }
                return SharedMemoryObject(kind: .region, status: status, service: try? service(at: address))
            }
        } else {
            objects = (try? list(backends: backends, fileDirectory: fileDirectory)) ?? []
        }
        for var object in objects {
            guard let service = object.service, !service.deadPorts.isEmpty else { continue }
            do {
                guard let region = try openService(object) else { continue }
                try ListedService.cleanDeadPorts(in: region, pattern: service.pattern)
                // Those no longer attached now were cleaned here (or by a live port meanwhile).
                let now = Set((try ListedService.find(in: region))?.ports ?? [])
                object.service?.ports = service.deadPorts.filter { !now.contains($0) }
                result.cleaned.append(object)
            } catch {
                let error = error as? SharedMemoryError ?? SharedMemoryError(
                    code: .systemError, operation: "cleanDeadPorts", address: object.status.address.description,
                    message: "\(error)", hint: "")
                result.failures.append((object, error))
            }
        }
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
