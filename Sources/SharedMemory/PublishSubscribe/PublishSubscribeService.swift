import SystemPackage

/// A publish-subscribe service: one named region that publishers and subscribers in any number
/// of processes attach to (Docs/PublishSubscribe.md). It holds the service's configuration, a
/// pool of fixed-size payload chunks, a queue of chunk indices from each publisher to each
/// subscriber, each chunk's holders, and the registry of attached ports (pid and start time).
///
/// A sample is written once, in place, into a chunk; sending puts the chunk's index into every
/// subscriber's queue, and each subscriber reads it where it lies. The region works over every
/// named backend (`posix:`, `sysv:`, `file:`), without a daemon.
///
/// Trust: every index, count, length and port word read from the region is checked before it
/// is used; a peer that writes garbage gets `.corrupted` errors, never a trap or an access
/// outside the region. A peer can still withhold progress: every wait has a timeout.
public final class PublishSubscribeService: @unchecked Sendable {
    // @unchecked: immutable after init; the region is shared memory reached through checked views.
    /// The region holding the service.
    public let region: any SharedRegion
    /// The configuration the region records.
    public let configuration: ServiceConfiguration
    /// Whether this call created and initialized the region.
    public let createdHere: Bool
    let memory: ServiceMemory

    /// The service's address.
    public var address: RegionAddress { region.address }

    /// Opens the service at `address`, creating it with `configuration` if no process has:
    /// race-free whichever process comes first (`SharedRegions.openInitialized`, so `shm_open`,
    /// `shmget` or `open`, then `ftruncate` and `mmap`).
    ///
    /// - Parameters:
    ///   - address: a named backend's address (`"posix:/sensor"`).
    ///   - configuration: what the service must be; checked with `validate()`.
    ///   - permissions: the mode of a created object; 0600 by default.
    ///   - options: as for `SharedRegions.open`.
    /// - Throws: `SharedMemoryError`: `.invalidArgument` for a configuration out of range;
    ///   `.layoutMismatch` naming both configurations when the service there has another one, or
    ///   when the region holds something else; `.corrupted` when its recorded configuration is
    ///   out of range; as `SharedRegions.openInitialized` does.
    public convenience init(
        openingOrCreating address: RegionAddress, configuration: ServiceConfiguration,
        permissions: FilePermissions = .ownerReadWrite, options: SharedRegionOptions = .default
    ) throws {
        let layout = try ServiceLayout(configuration)
        let made: InitializedRegion
        do {
            made = try SharedRegions.openInitialized(
                address, layout: try layout.regionLayout, permissions: permissions, options: options
            ) { made in
                try Self.initialize(made.region, layout: layout)
            }
        } catch let error as SharedMemoryError where error.code == .layoutMismatch || error.code == .invalidSize {
            // Another size or another header: say which configuration is there, if it is a service at all.
            let existing = try? SharedRegions.open(address, mode: .open, options: options)
            if let existing, let stored = try? Self.storedConfiguration(existing) {
                try Self.check(stored, asked: configuration, address)
            }
            throw error
        }
        // Two configurations can make regions of one size (block or discard-oldest, a payload of 60
        // or 64 bytes aligned to 8): compare what the region records.
        try Self.check(try ServiceLayout.storedConfiguration(in: made.region), asked: configuration, address)
        try self.init(region: made.region, layout: layout, createdHere: made.initializedHere)
    }

    private static func check(_ stored: ServiceConfiguration, asked: ServiceConfiguration, _ address: RegionAddress)
        throws(SharedMemoryError)
    {
        guard stored != asked else { return }
        throw .configurationMismatch(
            stored: stored, asked: asked, kind: "service", operation: "PublishSubscribeService.open", address)
    }

    /// Opens the existing service at `address` with the configuration it records
    /// (`shm_open`, `shmget` or `open`, then `mmap`).
    ///
    /// - Throws: `SharedMemoryError`: `.notFound` when there is none; `.notReady` while its
    ///   creator is still initializing it; `.layoutMismatch` when the region holds something else;
    ///   `.corrupted` when its recorded configuration is out of range.
    public convenience init(opening address: RegionAddress, options: SharedRegionOptions = .default) throws {
        try self.init(existing: try SharedRegions.open(address, mode: .open, options: options))
    }

    /// The service in a region already open, with the configuration it records.
    convenience init(existing region: any SharedRegion) throws {
        let layout = try ServiceLayout(try Self.storedConfiguration(region))
        try LayoutHeader(region: region, layout: try layout.regionLayout).validate()
        try self.init(region: region, layout: layout, createdHere: false)
    }

    init(region: any SharedRegion, layout: ServiceLayout, createdHere: Bool) throws(SharedMemoryError) {
        self.region = region
        configuration = layout.configuration
        self.createdHere = createdHere
        memory = try ServiceMemory(region: region, layout: layout)
    }

    private static func initialize(_ region: any SharedRegion, layout: ServiceLayout) throws {
        try layout.writeConfiguration(in: region)
        _ = try ProcessMutex.initialize(in: region, at: layout.lockOffset)
        ChunkPool(memory: try ServiceMemory(region: region, layout: layout)).initialize()
    }

    /// The configuration a ready service region records; `.layoutMismatch` if it holds no service.
    static func storedConfiguration(_ region: any SharedRegion) throws(SharedMemoryError) -> ServiceConfiguration {
        try LayoutHeader.checkReadyService(
            in: region, name: ServiceLayout.layoutName, version: ServiceLayout.layoutVersion,
            kind: "publish-subscribe service", operation: "PublishSubscribeService.open",
            howToCreate: "`shm service create`")
        return try ServiceLayout.storedConfiguration(in: region)
    }

    /// Cleans the ports whose processes died (`kill(pid, 0)` and `/proc/PID/stat`): their slots are
    /// freed and the chunks only they held return to the pool; each subscriber is told of a dead
    /// publisher (`Subscriber.publisherChanges()`). Attaching a port does it too, and so does
    /// every port that sleeps (a waiting subscriber, a publisher waiting for room) at least every
    /// half second of its sleep; `shm remove --stale` does it from the shell.
    ///
    /// - Returns: how many ports were cleaned.
    /// - Throws: `.timedOut` if the service's lock stays held; `.corrupted` for a port word no
    ///   process of this library writes.
    @discardableResult
    public func cleanDeadPorts() throws(SharedMemoryError) -> Int {
        try memory.withLock { () throws(SharedMemoryError) in try PortRegistry(memory: memory).cleanDeadPorts() }
    }

    /// Cleans the dead ports if a scan without the lock finds any (what a sleeping port does
    /// between slices of its sleep).
    func cleanDeadPortsIfAny() throws(SharedMemoryError) {
        guard try PortRegistry(memory: memory).anyDeadPort() else { return }
        try cleanDeadPorts()
    }

    /// What the service holds now: its ports, its pool and its queues (a snapshot while ports work).
    public func statistics() throws(SharedMemoryError) -> ServiceStatistics {
        try ServiceStatistics(memory)
    }
}
