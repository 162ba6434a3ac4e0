import SystemPackage

/// A request-response service: one named region that clients and servers in any number of
/// processes attach to (Docs/RequestResponse.md). A `Client` loans a chunk, writes a request in
/// place and sends it to every attached server; a `Server` receives it where it lies, loans a
/// chunk for a response and sends it back to that client alone, as many times as it likes. A
/// request id, written by the client and copied into every response, correlates them.
///
/// It is built on publish-subscribe's parts: the same pool of chunks with one holder bit per
/// port, the same queues (client to server for requests, server to client for responses), the
/// same registry of ports (pid and start time), and the same lock. It works over every named
/// backend (`posix:`, `sysv:`, `file:`), without a daemon.
///
/// Trust: every index, count, length, request id and port word read from the region is checked
/// before it is used; a peer that writes garbage gets `.corrupted` errors, never a trap or an
/// access outside the region. A peer can still withhold progress: every wait has a timeout.
public final class RequestResponseService: @unchecked Sendable {
    // @unchecked: immutable after init; the region is shared memory reached through checked views.
    /// The region holding the service.
    public let region: any SharedRegion
    /// The configuration the region records.
    public let configuration: RequestResponseConfiguration
    /// Whether this call created and initialized the region.
    public let createdHere: Bool
    let layout: RequestResponseLayout
    /// The request direction: clients are its publishers, servers its subscribers.
    let channel: PublishSubscribeService
    var memory: ServiceMemory { channel.memory }
    var registry: PortRegistry { PortRegistry(memory: channel.memory) }

    /// The service's address.
    public var address: RegionAddress { region.address }

    /// Opens the service at `address`, creating it with `configuration` if no process has:
    /// race-free whichever process comes first (`SharedRegions.openInitialized`, so `shm_open`,
    /// `shmget` or `open`, then `ftruncate` and `mmap`).
    ///
    /// - Parameters:
    ///   - address: a named backend's address (`"posix:/quotes"`).
    ///   - configuration: what the service must be; checked with `validate()`.
    ///   - permissions: the mode of a created object; 0600 by default.
    ///   - options: as for `SharedRegions.open`.
    /// - Throws: `SharedMemoryError`: `.invalidArgument` for a configuration out of range;
    ///   `.layoutMismatch` naming both configurations when the service there has another one, or
    ///   when the region holds something else; `.corrupted` when its recorded configuration is
    ///   out of range; as `SharedRegions.openInitialized` does.
    public convenience init(
        openingOrCreating address: RegionAddress, configuration: RequestResponseConfiguration,
        permissions: FilePermissions = .ownerReadWrite, options: SharedRegionOptions = .default
    ) throws {
        let layout = try RequestResponseLayout(configuration)
        let made: InitializedRegion
        do {
            made = try SharedRegions.openInitialized(
                address, layout: try layout.regionLayout, permissions: permissions, options: options
            ) { made in
                try layout.writeConfiguration(in: made.region)
                _ = try ProcessMutex.initialize(in: made.region, at: layout.channel.lockOffset)
                ChunkPool(memory: try ServiceMemory(region: made.region, layout: layout.channel)).initialize()
            }
        } catch let error as SharedMemoryError where error.code == .layoutMismatch || error.code == .invalidSize {
            // Another size or another header: say which configuration is there, if it is a service at all.
            let existing = try? SharedRegions.open(address, mode: .open, options: options)
            if let existing, let stored = try? Self.storedConfiguration(existing) {
                try Self.check(stored, asked: configuration, address)
            }
            throw error
        }
        // Two configurations can make regions of one size: compare what the region records.
        try Self.check(try RequestResponseLayout.storedConfiguration(in: made.region), asked: configuration, address)
        try self.init(region: made.region, layout: layout, createdHere: made.initializedHere)
    }

    /// Opens the existing service at `address` with the configuration it records
    /// (`shm_open`, `shmget` or `open`, then `mmap`).
    ///
    /// - Parameters:
    ///   - address: a named backend's address.
    ///   - options: as for `SharedRegions.open`.
    /// - Throws: `SharedMemoryError`: `.notFound` when there is none; `.notReady` while its
    ///   creator is still initializing it; `.layoutMismatch` when the region holds something else;
    ///   `.corrupted` when its recorded configuration is out of range.
    public convenience init(opening address: RegionAddress, options: SharedRegionOptions = .default) throws {
        let region = try SharedRegions.open(address, mode: .open, options: options)
        let layout = try RequestResponseLayout(try Self.storedConfiguration(region))
        try LayoutHeader(region: region, layout: try layout.regionLayout).validate()
        try self.init(region: region, layout: layout, createdHere: false)
    }

    private init(region: any SharedRegion, layout: RequestResponseLayout, createdHere: Bool) throws(SharedMemoryError) {
        // The response queues lie past the channel's part: check the whole region once.
        _ = try RegionSlot.pointer(
            to: UInt8.self, count: layout.totalByteCount, at: 0, in: region, aligned: false, writing: true,
            operation: "RequestResponseService")
        self.region = region
        self.layout = layout
        configuration = layout.configuration
        self.createdHere = createdHere
        channel = try PublishSubscribeService(region: region, layout: layout.channel, createdHere: createdHere)
    }

    private static func check(
        _ stored: RequestResponseConfiguration, asked: RequestResponseConfiguration, _ address: RegionAddress
    ) throws(SharedMemoryError) {
        guard stored != asked else { return }
        throw .configurationMismatch(
            stored: stored, asked: asked, kind: "service", operation: "RequestResponseService.open", address)
    }

    /// The configuration a ready service region records; `.layoutMismatch` if it holds none.
    private static func storedConfiguration(_ region: any SharedRegion) throws(SharedMemoryError)
        -> RequestResponseConfiguration
    {
        try LayoutHeader.checkReadyService(
            in: region, name: RequestResponseLayout.layoutName, version: RequestResponseLayout.layoutVersion,
            kind: "request-response service", operation: "RequestResponseService.open",
            howToCreate: "`RequestResponseService(openingOrCreating:configuration:)`")
        return try RequestResponseLayout.storedConfiguration(in: region)
    }

    /// Cleans the ports whose processes died (`kill(pid, 0)` and `/proc/PID/stat`): their slots are
    /// freed and the chunks only they held (requests, responses, loans) return to the pool, with
    /// the responses still queued for clients that left or died. Attaching a port does it too.
    ///
    /// - Returns: how many ports were cleaned.
    /// - Throws: `.timedOut` if the service's lock stays held; `.corrupted` for a port word or a
    ///   queue no process of this library writes.
    @discardableResult
    public func cleanDeadPorts() throws(SharedMemoryError) -> Int {
        let (memory, registry, clients) = (memory, registry, configuration.maxClients)
        return try memory.withLock { () throws(SharedMemoryError) -> Int in
            let cleaned = try registry.cleanDeadPorts()
            for client in 0..<clients where try registry.record(.publisher, client) == nil {
                try drainResponses(to: client)
            }
            return cleaned
        }
    }

    /// Cleans the dead ports if a scan without the lock finds any (what a sleeping port does
    /// between slices of its sleep).
    func cleanDeadPortsIfAny() throws(SharedMemoryError) {
        guard try registry.anyDeadPort() else { return }
        try cleanDeadPorts()
    }

    /// Takes every response queued for client slot `client` (from `servers`, all by default) and
    /// clears the slot's bit from their chunks (the caller holds the lock, and no client in the slot
    /// holds a chunk it could be confused with: the slot is free, or its client is attaching, or
    /// see `Server.send`).
    /// Responses to a client that left or died: an entry whose chunk its cleaning already freed
    /// changes nothing, since the chunk no longer carries the bit.
    func drainResponses(to client: Int, from servers: Range<Int>? = nil) throws(SharedMemoryError) {
        let bit = registry.bit(.publisher, client)
        let pool = ChunkPool(memory: memory)
        for server in servers ?? 0..<configuration.maxServers {
            let queue = ChunkQueue(memory, offset: layout.responseQueue(server: server, client: client))
            while let chunk = try queue.take() { pool.release(chunk, bit) }
        }
    }

    /// Checks that `count` bytes fit a payload of `maximum` (a request's or a response's).
    ///
    /// - Throws: `.invalidSize` naming both.
    func checkPayload(_ count: Int, maximum: Int, of kind: String, operation: String) throws(SharedMemoryError) {
        guard count < 0 || count > maximum else { return }
        throw SharedMemoryError(
            code: .invalidSize, operation: operation, address: address.description,
            message: "a \(count)-byte \(kind) does not fit a payload of \(maximum) bytes",
            hint: "send at most \(kind)PayloadByteCount bytes, or create the service with a larger payload")
    }

    /// What the service holds now: its ports and its pool (a snapshot while ports work).
    ///
    /// - Throws: `.corrupted` for a port word no process of this library writes.
    public func statistics() throws(SharedMemoryError) -> RequestResponseStatistics {
        try RequestResponseStatistics(self)
    }
}
