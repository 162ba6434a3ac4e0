/// A snapshot of a request-response service: its configuration, its ports and its pool. Values
/// are read while ports work, and a peer could write anything there: use them to watch, not to decide.
public struct RequestResponseStatistics: Sendable, Hashable {
    /// The configuration the region records.
    public var configuration: RequestResponseConfiguration
    /// The chunks in the pool.
    public var chunkCount: Int
    /// The chunks nobody holds.
    public var freeChunkCount: Int
    /// The attached clients (`messages`: requests sent).
    public var clients: [ServiceStatistics.Port]
    /// The attached servers (`messages`: requests received; `queued`: requests waiting for them).
    public var servers: [ServiceStatistics.Port]

    init(_ service: RequestResponseService) throws(SharedMemoryError) {
        let channel = try ServiceStatistics(service.memory)
        configuration = service.configuration
        chunkCount = channel.chunkCount
        freeChunkCount = channel.freeChunkCount
        clients = channel.publishers
        servers = channel.subscribers
    }
}
