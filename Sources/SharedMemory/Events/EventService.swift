import SystemPackage

/// An event service: one named region that notifiers and listeners in any number of processes
/// attach to (Docs/Events.md). A `Notifier` signals an event id; every `Listener` learns which
/// ids fired since it last looked, and a sleeping one is woken (`futex`). The region holds the
/// configuration, the registry of attached ports (pid and start time) and, per listener, its set
/// of fired ids, its port changes and its futex word. It works over every named backend
/// (`posix:`, `sysv:`, `file:`), without a daemon, and is separate from any publish-subscribe
/// service.
///
/// Trust: every port word, flag and set of ids read from the region is checked before it is
/// used; a peer that writes garbage gets `.corrupted` errors, never a trap or an access outside
/// the region. A peer can still withhold or fake events: waits have timeouts.
public final class EventService: @unchecked Sendable {
    // @unchecked: immutable after init; the region is shared memory reached through checked views.
    /// The region holding the service.
    public let region: any SharedRegion
    /// The configuration the region records.
    public let configuration: EventConfiguration
    /// Whether this call created and initialized the region.
    public let createdHere: Bool
    let memory: EventMemory
    let registry: EventRegistry

    /// The service's address.
    public var address: RegionAddress { region.address }

    /// Opens the event service at `address`, creating it with `configuration` if no process has:
    /// race-free whichever process comes first (`SharedRegions.openInitialized`, so `shm_open`,
    /// `shmget` or `open`, then `ftruncate` and `mmap`).
    ///
    /// - Parameters:
    ///   - address: a named backend's address (`"posix:/alarms"`).
    ///   - configuration: what the service must be; checked with `validate()`.
    ///   - permissions: the mode of a created object; 0600 by default.
    ///   - options: as for `SharedRegions.open`.
    /// - Throws: `SharedMemoryError`: `.invalidArgument` for a configuration out of range;
    ///   `.layoutMismatch` naming both configurations when the service there has another one, or
    ///   when the region holds something else; `.corrupted` when its recorded configuration is
    ///   out of range; as `SharedRegions.openInitialized` does.
    public convenience init(
        openingOrCreating address: RegionAddress, configuration: EventConfiguration,
        permissions: FilePermissions = .ownerReadWrite, options: SharedRegionOptions = .default
    ) throws {
        let layout = try EventLayout(configuration)
        let made: InitializedRegion
        do {
            made = try SharedRegions.openInitialized(
                address, layout: try layout.regionLayout, permissions: permissions, options: options
            ) { made in
                try layout.writeConfiguration(in: made.region)
            }
        } catch let error as SharedMemoryError where error.code == .layoutMismatch || error.code == .invalidSize {
            // Another size or another header: say which configuration is there, if it is an event service.
            let existing = try? SharedRegions.open(address, mode: .open, options: options)
            if let existing, let stored = try? Self.storedConfiguration(existing) {
                try Self.check(stored, asked: configuration, address)
            }
            throw error
        }
        // Two configurations can make regions of one size: compare what the region records.
        try Self.check(try EventLayout.storedConfiguration(in: made.region), asked: configuration, address)
        try self.init(region: made.region, layout: layout, createdHere: made.initializedHere)
    }

    /// Opens the existing event service at `address` with the configuration it records
    /// (`shm_open`, `shmget` or `open`, then `mmap`).
    ///
    /// - Throws: `SharedMemoryError`: `.notFound` when there is none; `.notReady` while its
    ///   creator is still initializing it; `.layoutMismatch` when the region holds something else;
    ///   `.corrupted` when its recorded configuration is out of range.
    public convenience init(opening address: RegionAddress, options: SharedRegionOptions = .default) throws {
        try self.init(existing: try SharedRegions.open(address, mode: .open, options: options))
    }

    /// The event service in a region already open, with the configuration it records.
    convenience init(existing region: any SharedRegion) throws {
        let layout = try EventLayout(try Self.storedConfiguration(region))
        try LayoutHeader(region: region, layout: try layout.regionLayout).validate()
        try self.init(region: region, layout: layout, createdHere: false)
    }

    private init(region: any SharedRegion, layout: EventLayout, createdHere: Bool) throws(SharedMemoryError) {
        self.region = region
        configuration = layout.configuration
        self.createdHere = createdHere
        memory = try EventMemory(region: region, layout: layout)
        registry = try EventRegistry(memory: memory)
    }

    private static func check(_ stored: EventConfiguration, asked: EventConfiguration, _ address: RegionAddress)
        throws(SharedMemoryError)
    {
        guard stored != asked else { return }
        throw .configurationMismatch(
            stored: stored, asked: asked, kind: "event service", operation: "EventService.open", address)
    }

    /// The configuration a ready event service region records; `.layoutMismatch` if it holds none.
    private static func storedConfiguration(_ region: any SharedRegion) throws(SharedMemoryError) -> EventConfiguration {
        try LayoutHeader.checkReadyService(
            in: region, name: EventLayout.layoutName, version: EventLayout.layoutVersion, kind: "event service",
            operation: "EventService.open", howToCreate: "`shm event create`")
        return try EventLayout.storedConfiguration(in: region)
    }

    /// Frees the slots of ports whose processes died (`kill(pid, 0)` and `/proc/PID/stat`) and
    /// posts `PortChanges.died` to every listener. Attaching a port and a listener's timed-out
    /// wait do it too.
    ///
    /// - Returns: how many ports were freed.
    /// - Throws: `.corrupted` for a port word or flag no process of this library writes.
    @discardableResult
    public func cleanDeadPorts() throws(SharedMemoryError) -> Int {
        try registry.cleanDeadPorts()
    }

    /// The processes attached now, as notifiers and as listeners (a snapshot while ports come and go).
    ///
    /// - Throws: `.corrupted` for a port word no process of this library writes.
    public func attachedProcesses() throws(SharedMemoryError) -> (notifiers: [Int32], listeners: [Int32]) {
        var notifiers: [Int32] = []
        var listeners: [Int32] = []
        for index in 0..<configuration.maxNotifiers {
            if let record = try registry.record(.notifier, index) { notifiers.append(record.pid) }
        }
        for index in 0..<configuration.maxListeners {
            if let record = try registry.record(.listener, index) { listeners.append(record.pid) }
        }
        return (notifiers, listeners)
    }
}
