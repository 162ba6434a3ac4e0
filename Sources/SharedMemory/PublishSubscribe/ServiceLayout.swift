/// Where everything of a publish-subscribe service lies in its region, computed from the
/// configuration (never from offsets stored in the region). Offsets are from the region's start;
/// the service begins after the 64-byte header of `RegionLayout` (Docs/PublishSubscribe.md).
///
/// | part | contents |
/// |---|---|
/// | configuration | 64 bytes: the fields of `ServiceConfiguration` |
/// | lock | a `ProcessMutex`: attaching, detaching, cleaning and delivering take it |
/// | pool | the free list's head (u64: tag and index) |
/// | publisher ports | 128 bytes each: port word, sleeping flag, wake word; then, on a line of their own, sent count, history count |
/// | subscriber ports | 128 bytes each: port word, sleeping flag, wake word, publisher changes; then, on a line of their own, received count |
/// | histories | per publisher, `historyCapacity` chunk indices (u32) |
/// | queues | per subscriber and publisher: head, tail (u64, a cache line each), `subscriberBufferCapacity` entries of 16 bytes: chunk index, sample length, mark (u32 each) |
/// | chunk records | per chunk 16 bytes: holders (u64, one bit per port), length (u32), next free (u32) |
/// | payloads | per chunk `payloadByteCount` rounded up to the alignment (and to 8) |
struct ServiceLayout: Sendable {
    let configuration: ServiceConfiguration
    let chunkCount: Int
    /// How many free chunks a publisher caches (`ServiceConfiguration.publisherCacheCount`; 0 for
    /// a pattern whose pool counts no caches, as request-response's).
    let publisherCacheCount: Int
    let configurationOffset: Int
    let lockOffset: Int
    let poolHeadOffset: Int
    let publisherPortsOffset: Int
    let subscriberPortsOffset: Int
    let historiesOffset: Int
    let historyStride: Int
    let queuesOffset: Int
    let queueStride: Int
    let chunkRecordsOffset: Int
    let payloadsOffset: Int
    let payloadStride: Int
    /// The region's size: the header and everything above.
    let totalByteCount: Int

    /// Two cache lines: what other ports read per sample (port word, sleeping flag), and the
    /// counters its owner writes per sample, apart, so that counting costs the readers no miss.
    static let portStride = 128
    static let chunkRecordStride = 16
    static let queueSlotsOffset = 128
    static let layoutName = "SharedMemory.PublishSubscribe"
    static let layoutVersion: UInt32 = 4

    enum Port {
        static let word = 0
        static let sleeping = 8
        static let wake = 12
        static let messages = 64
        static let historyCount = 72
        /// A subscriber's: the `PortChanges` among publishers posted to it (u32; 32-39 are
        /// request-response's, `RequestResponseLayout.replySleeping`).
        static let publisherChanges = 40
    }

    enum Queue {
        static let head = 0
        static let tail = 64
    }

    /// A queue entry's fields (`ChunkQueue`).
    enum QueueEntry {
        static let stride = 16
        static let chunk = 0
        static let length = 4
        static let mark = 8
    }

    enum ChunkRecord {
        static let holders = 0
        static let length = 8
        static let next = 12
    }

    /// The configuration block's fields.
    enum Field {
        static let payloadByteCount = 0
        static let payloadAlignment = 8
        static let maxPublishers = 12
        static let maxSubscribers = 16
        static let bufferCapacity = 20
        static let historyCapacity = 24
        static let overflowPolicy = 28
        static let chunkCount = 32
    }

    /// - Parameters:
    ///   - extraChunks: chunks beyond `configuration.chunkCount`, for holders a pattern built on
    ///     this layout adds (request-response's replies).
    ///   - cachesChunks: whether publishers cache free chunks (`chunkCount` counts their caches).
    /// - Throws: `.invalidArgument` for a configuration out of range, `.invalidSize` for one whose
    ///   region would not fit in memory.
    init(_ configuration: ServiceConfiguration, extraChunks: Int = 0, cachesChunks: Bool = true) throws(SharedMemoryError) {
        try configuration.validate()
        self.configuration = configuration
        func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }
        let (p, s) = (configuration.maxPublishers, configuration.maxSubscribers)
        chunkCount = configuration.chunkCount + extraChunks
        publisherCacheCount = cachesChunks ? ServiceConfiguration.publisherCacheCount : 0
        configurationOffset = RegionLayout.headerByteCount
        lockOffset = configurationOffset + 64
        poolHeadOffset = lockOffset + 64
        publisherPortsOffset = poolHeadOffset + 64
        subscriberPortsOffset = publisherPortsOffset + p * Self.portStride
        historiesOffset = subscriberPortsOffset + s * Self.portStride
        historyStride = roundUp(configuration.historyCapacity * 4, 64)
        queuesOffset = historiesOffset + p * historyStride
        queueStride = Self.queueSlotsOffset + roundUp(configuration.subscriberBufferCapacity * QueueEntry.stride, 64)
        chunkRecordsOffset = queuesOffset + p * s * queueStride
        payloadsOffset = roundUp(chunkRecordsOffset + chunkCount * Self.chunkRecordStride, 64)
        payloadStride = roundUp(configuration.payloadByteCount, max(configuration.payloadAlignment, 8))
        let (payloads, overflow) = chunkCount.multipliedReportingOverflow(by: payloadStride)
        guard !overflow, payloads <= Int.max / 2 - payloadsOffset else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "ServiceConfiguration",
                message: "\(chunkCount) chunks of \(payloadStride) bytes do not fit in a region",
                hint: "make the payload, the buffers or the port counts smaller")
        }
        totalByteCount = payloadsOffset + payloads
    }

    /// The header `SharedRegions.openInitialized` records for this service.
    var regionLayout: RegionLayout {
        get throws(SharedMemoryError) {
            try RegionLayout(
                name: Self.layoutName, version: Self.layoutVersion,
                payloadByteCount: totalByteCount - RegionLayout.headerByteCount)
        }
    }

    func publisherPort(_ index: Int) -> Int { publisherPortsOffset + index * Self.portStride }
    func subscriberPort(_ index: Int) -> Int { subscriberPortsOffset + index * Self.portStride }
    func history(_ publisher: Int) -> Int { historiesOffset + publisher * historyStride }
    /// The queue from `publisher` to `subscriber`.
    func queue(publisher: Int, subscriber: Int) -> Int {
        queuesOffset + (subscriber * configuration.maxPublishers + publisher) * queueStride
    }
    func chunkRecord(_ chunk: Int) -> Int { chunkRecordsOffset + chunk * Self.chunkRecordStride }
    func payload(_ chunk: Int) -> Int { payloadsOffset + chunk * payloadStride }

    /// Writes the configuration block (the initializer's first step).
    func writeConfiguration(in region: any SharedRegion) throws(SharedMemoryError) {
        let base = configurationOffset
        try region.store(UInt64(configuration.payloadByteCount), at: base + Field.payloadByteCount)
        try region.store(UInt32(configuration.payloadAlignment), at: base + Field.payloadAlignment)
        try region.store(UInt32(configuration.maxPublishers), at: base + Field.maxPublishers)
        try region.store(UInt32(configuration.maxSubscribers), at: base + Field.maxSubscribers)
        try region.store(UInt32(configuration.subscriberBufferCapacity), at: base + Field.bufferCapacity)
        try region.store(UInt32(configuration.historyCapacity), at: base + Field.historyCapacity)
        try region.store(configuration.overflowPolicy.rawValue, at: base + Field.overflowPolicy)
        try region.store(UInt32(chunkCount), at: base + Field.chunkCount)
    }

    /// Reads the configuration a region records, checking every field (a peer may have written any).
    ///
    /// - Throws: `.corrupted` naming the first field out of range; `.outOfBounds` if the region
    ///   is too small to hold the block.
    static func storedConfiguration(in region: any SharedRegion) throws(SharedMemoryError) -> ServiceConfiguration {
        let base = RegionLayout.headerByteCount
        let operation = "PublishSubscribeService.open"
        let payload = try region.load(UInt64.self, at: base + Field.payloadByteCount)
        guard payload >= 1, payload <= UInt64(ServiceConfiguration.maximumPayloadByteCount) else {
            throw .corrupted(
                operation, region.address, field: "payloadByteCount", value: payload,
                rule: "it must be from 1 to \(ServiceConfiguration.maximumPayloadByteCount)")
        }
        func field(_ offset: Int, _ name: String) throws(SharedMemoryError) -> Int {
            let value = try region.load(UInt32.self, at: base + offset)
            guard value <= UInt32(ServiceConfiguration.maximumQueueCapacity) else {
                throw .corrupted(
                    operation, region.address, field: name, value: value,
                    rule: "it must be at most \(ServiceConfiguration.maximumQueueCapacity)")
            }
            return Int(value)
        }
        let policyValue = try region.load(UInt32.self, at: base + Field.overflowPolicy)
        guard let policy = OverflowPolicy(rawValue: policyValue) else {
            throw .corrupted(
                operation, region.address, field: "overflowPolicy", value: policyValue,
                rule: "it must be 1 (block) or 2 (discard-oldest)")
        }
        let configuration = ServiceConfiguration(
            payloadByteCount: Int(payload), payloadAlignment: try field(Field.payloadAlignment, "payloadAlignment"),
            maxPublishers: try field(Field.maxPublishers, "maxPublishers"),
            maxSubscribers: try field(Field.maxSubscribers, "maxSubscribers"),
            subscriberBufferCapacity: try field(Field.bufferCapacity, "subscriberBufferCapacity"),
            historyCapacity: try field(Field.historyCapacity, "historyCapacity"), overflowPolicy: policy)
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
