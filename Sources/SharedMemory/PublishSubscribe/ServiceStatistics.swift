import Synchronization

/// A snapshot of a publish-subscribe service: its configuration, its ports and its pool. Values
/// are read while ports work, and a peer could write anything there: use them to watch, not to decide.
public struct ServiceStatistics: Sendable, Hashable {
    /// One attached port.
    public struct Port: Sendable, Hashable {
        /// Its slot in the registry.
        public var index: Int
        /// The process that attached it.
        public var pid: Int32
        /// Whether that process still runs (`kill(pid, 0)` and its start time in `/proc`).
        public var isAlive: Bool
        /// Samples it sent (a publisher) or received (a subscriber).
        public var messages: UInt64
        /// Samples waiting in its queues (subscribers only).
        public var queued: UInt64
    }

    /// The configuration the region records.
    public var configuration: ServiceConfiguration
    /// The chunks in the pool.
    public var chunkCount: Int
    /// The chunks nobody holds.
    public var freeChunkCount: Int
    /// The attached publishers.
    public var publishers: [Port]
    /// The attached subscribers.
    public var subscribers: [Port]

    init(_ memory: ServiceMemory) throws(SharedMemoryError) {
        let registry = PortRegistry(memory: memory)
        configuration = memory.configuration
        chunkCount = memory.layout.chunkCount
        freeChunkCount = ChunkPool(memory: memory).freeCount()
        func ports(_ kind: PortRegistry.Kind) throws(SharedMemoryError) -> [Port] {
            var ports: [Port] = []
            for index in 0..<registry.slotCount(kind) {
                guard let record = try registry.record(kind, index) else { continue }
                let offset = registry.portOffset(kind, index)
                var queued: UInt64 = 0
                if kind == .subscriber {
                    for publisher in 0..<memory.configuration.maxPublishers {
                        queued &+= (try? ChunkQueue(memory, publisher: publisher, subscriber: index).count()) ?? 0
                    }
                }
                ports.append(
                    Port(
                        index: index, pid: record.pid, isAlive: record.isAlive,
                        messages: memory.atomic64(offset + ServiceLayout.Port.messages).pointee.load(ordering: .relaxed),
                        queued: queued))
            }
            return ports
        }
        publishers = try ports(.publisher)
        subscribers = try ports(.subscriber)
    }
}
