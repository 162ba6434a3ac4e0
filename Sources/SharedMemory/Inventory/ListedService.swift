/// A service found in a listed region (`SharedMemoryInventory.list`): which pattern, and the
/// ports attached to it with whether each one's process still runs.
public struct ListedService: Sendable, Hashable {
    /// The kind of service a region holds.
    public enum Pattern: String, Sendable, Hashable, Codable {
        /// A `PublishSubscribeService`.
        case publishSubscribe = "publish-subscribe"
        /// An `EventService`.
        case events
    }

    /// One attached port.
    public struct Port: Sendable, Hashable {
        /// What the port does.
        public enum Role: String, Sendable, Hashable, Codable {
            /// A `Publisher`.
            case publisher
            /// A `Subscriber`.
            case subscriber
            /// A `Notifier`.
            case notifier
            /// A `Listener`.
            case listener
        }

        /// Publisher, subscriber, notifier or listener.
        public var role: Role
        /// Its slot in the service's registry.
        public var index: Int
        /// The process that attached it.
        public var pid: Int32
        /// Whether that process still runs (`kill(pid, 0)` and its start time in `/proc`); a dead
        /// one's port stays until a live port or `shm remove --stale` cleans it.
        public var isAlive: Bool
    }

    /// The pattern.
    public var pattern: Pattern
    /// The attached ports, publishers (notifiers) first.
    public var ports: [Port]

    /// The ports whose processes are gone.
    public var deadPorts: [Port] { ports.filter { !$0.isAlive } }

    /// The service `region` holds, read through the service's own checked views; `nil` when it
    /// holds none (its header names another layout, or it is too small for one).
    ///
    /// - Throws: what opening the service throws for a region that claims to hold one but
    ///   breaks its rules (`.corrupted`, `.notReady`).
    static func find(in region: any SharedRegion) throws -> ListedService? {
        guard region.byteCount >= RegionLayout.headerByteCount else { return nil }
        let identifier = try region.load(UInt64.self, at: RegionLayout.Field.identifier)
        if identifier == (try RegionLayout(name: ServiceLayout.layoutName, version: ServiceLayout.layoutVersion, payloadByteCount: 0).identifier) {
            let statistics = try PublishSubscribeService(existing: region).statistics()
            func ports(_ role: Port.Role, _ ports: [ServiceStatistics.Port]) -> [Port] {
                ports.map { Port(role: role, index: $0.index, pid: $0.pid, isAlive: $0.isAlive) }
            }
            return ListedService(
                pattern: .publishSubscribe,
                ports: ports(.publisher, statistics.publishers) + ports(.subscriber, statistics.subscribers))
        }
        if identifier == (try RegionLayout(name: EventLayout.layoutName, version: EventLayout.layoutVersion, payloadByteCount: 0).identifier) {
            let service = try EventService(existing: region)
            var ports: [Port] = []
            for (kind, role) in [(EventRegistry.Kind.notifier, Port.Role.notifier), (.listener, .listener)] {
                for index in 0..<service.registry.slotCount(kind) {
                    guard let record = try service.registry.record(kind, index) else { continue }
                    ports.append(Port(role: role, index: index, pid: record.pid, isAlive: record.isAlive))
                }
            }
            return ListedService(pattern: .events, ports: ports)
        }
        return nil
    }

    /// Frees the dead ports of the service `region` holds, as its `cleanDeadPorts()` does.
    static func cleanDeadPorts(in region: any SharedRegion, pattern: Pattern) throws {
        switch pattern {
        case .publishSubscribe: try PublishSubscribeService(existing: region).cleanDeadPorts()
        case .events: try EventService(existing: region).cleanDeadPorts()
        }
    }
}
