/// Where everything of a request-response service lies in its region (Docs/RequestResponse.md).
///
/// The service is a publish-subscribe layout (`ServiceLayout`: lock, pool, ports, queues) whose
/// publishers are the clients and whose subscribers are the servers, so a request travels as a
/// sample does; after it come the response queues, one from each server to each client, of the
/// same shape. The configuration block holds this configuration's fields, not the channel's.
///
/// | part | contents |
/// |---|---|
/// | `ServiceLayout` | configuration (64 bytes, fields below), lock, pool head, client ports, server ports, request queues, chunk records, payloads |
/// | response queues | per client and server: head, tail, `bufferCapacity` chunk indices |
///
/// A chunk's payload starts with the request id (u64), padded to the alignment; the caller's
/// bytes follow.
struct RequestResponseLayout: Sendable {
    let configuration: RequestResponseConfiguration
    let channel: ServiceLayout
    let responseQueuesOffset: Int
    let totalByteCount: Int

    static let layoutName = "SharedMemory.RequestResponse"
    static let layoutVersion: UInt32 = 2

    /// A port's second sleeping flag (u32; publish-subscribe uses the first 32 bytes of a port):
    /// a client's while it waits for responses, a server's while it waits for room to respond.
    static let replySleeping = 32

    /// The configuration block's fields.
    enum Field {
        static let requestPayloadByteCount = 0
        static let responsePayloadByteCount = 8
        static let payloadAlignment = 16
        static let maxClients = 20
        static let maxServers = 24
        static let bufferCapacity = 28
        static let chunkCount = 32
    }

    /// - Throws: `.invalidArgument` for a configuration out of range, `.invalidSize` for one whose
    ///   region would not fit in memory.
    init(_ configuration: RequestResponseConfiguration) throws(SharedMemoryError) {
        try configuration.validate()
        self.configuration = configuration
        let shape = configuration.channel
        channel = try ServiceLayout(shape, extraChunks: configuration.chunkCount - shape.chunkCount, cachesChunks: false)
        responseQueuesOffset = (channel.totalByteCount + 63) / 64 * 64
        let (queues, overflow) = (configuration.maxClients * configuration.maxServers)
            .multipliedReportingOverflow(by: channel.queueStride)
        guard !overflow, queues <= Int.max / 2 - responseQueuesOffset else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "RequestResponseConfiguration",
                message: "the response queues do not fit in a region",
                hint: "make the buffers or the port counts smaller")
        }
        totalByteCount = responseQueuesOffset + queues
    }

    /// The header `SharedRegions.openInitialized` records for this service.
    var regionLayout: RegionLayout {
        get throws(SharedMemoryError) {
            try RegionLayout(
                name: Self.layoutName, version: Self.layoutVersion,
                payloadByteCount: totalByteCount - RegionLayout.headerByteCount)
        }
    }

    /// The queue of responses from `server` to `client`.
    func responseQueue(server: Int, client: Int) -> Int {
        responseQueuesOffset + (client * configuration.maxServers + server) * channel.queueStride
    }

    /// Writes the configuration block (the initializer's first step).
    func writeConfiguration(in region: any SharedRegion) throws(SharedMemoryError) {
        let base = channel.configurationOffset
        try region.store(UInt64(configuration.requestPayloadByteCount), at: base + Field.requestPayloadByteCount)
        try region.store(UInt64(configuration.responsePayloadByteCount), at: base + Field.responsePayloadByteCount)
        try region.store(UInt32(configuration.payloadAlignment), at: base + Field.payloadAlignment)
        try region.store(UInt32(configuration.maxClients), at: base + Field.maxClients)
        try region.store(UInt32(configuration.maxServers), at: base + Field.maxServers)
        try region.store(UInt32(configuration.bufferCapacity), at: base + Field.bufferCapacity)
        try region.store(UInt32(channel.chunkCount), at: base + Field.chunkCount)
    }

    /// Reads the configuration a region records, checking every field (a peer may have written any).
    ///
    /// - Throws: `.corrupted` naming the first field out of range; `.outOfBounds` if the region
    ///   is too small to hold the block.
    static func storedConfiguration(in region: any SharedRegion) throws(SharedMemoryError)
        -> RequestResponseConfiguration
    {
        let base = RegionLayout.headerByteCount
        let operation = "RequestResponseService.open"
        let maximum = RequestResponseConfiguration.maximumPayloadByteCount
        func size(_ offset: Int, _ name: String) throws(SharedMemoryError) -> Int {
            let value = try region.load(UInt64.self, at: base + offset)
            guard value <= UInt64(maximum) else {
                throw .corrupted(operation, region.address, field: name, value: value, rule: "it must be at most \(maximum)")
            }
            return Int(value)
        }
        func count(_ offset: Int, _ name: String) throws(SharedMemoryError) -> Int {
            let value = try region.load(UInt32.self, at: base + offset)
            guard value <= UInt32(ServiceConfiguration.maximumQueueCapacity) else {
                throw .corrupted(
                    operation, region.address, field: name, value: value,
                    rule: "it must be at most \(ServiceConfiguration.maximumQueueCapacity)")
            }
            return Int(value)
        }
        let configuration = RequestResponseConfiguration(
            requestPayloadByteCount: try size(Field.requestPayloadByteCount, "requestPayloadByteCount"),
            responsePayloadByteCount: try size(Field.responsePayloadByteCount, "responsePayloadByteCount"),
            payloadAlignment: try count(Field.payloadAlignment, "payloadAlignment"),
            maxClients: try count(Field.maxClients, "maxClients"), maxServers: try count(Field.maxServers, "maxServers"),
            bufferCapacity: try count(Field.bufferCapacity, "bufferCapacity"))
        do {
            try configuration.validate()
        } catch {
            throw SharedMemoryError(
                code: .corrupted, operation: operation, address: region.address.description,
                message: "the configuration it records is out of range: \(error.message)",
                hint: "another process with write access to this region wrote it (a bug or a hostile peer); "
                    + "remove the service once every user has let go, and create it again")
        }
        let chunks = try region.load(UInt32.self, at: base + Field.chunkCount)
        guard Int(chunks) == configuration.chunkCount else {
            throw .corrupted(
                operation, region.address, field: "chunkCount", value: chunks,
                rule: "this configuration has \(configuration.chunkCount) chunks")
        }
        return configuration
    }
}
