/// The static configuration of a publish-subscribe service: fixed when the service's region is
/// created, recorded in it, and checked against what every later opener asks for.
///
/// From it follow the size of the pool of payload chunks and of every queue, so that a port
/// that keeps to its limits never finds the pool empty (see `chunkCount`).
public struct ServiceConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The largest payload a sample carries, in bytes: 1 to `maximumPayloadByteCount`.
    public var payloadByteCount: Int
    /// The alignment of every payload's first byte: a power of two from 1 to 64.
    public var payloadAlignment: Int
    /// How many publishers may be attached at once.
    public var maxPublishers: Int
    /// How many subscribers may be attached at once; with `maxPublishers` at most 64 in all
    /// (each port owns one bit of every chunk's reference word).
    public var maxSubscribers: Int
    /// Samples each publisher can queue for each subscriber before the overflow policy applies;
    /// also how many received samples a subscriber may hold at once.
    public var subscriberBufferCapacity: Int
    /// How many of its most recent samples each publisher keeps for subscribers that attach later.
    public var historyCapacity: Int
    /// What a publisher does when a subscriber's queue is full.
    public var overflowPolicy: OverflowPolicy

    /// The largest `payloadByteCount`: 1 GiB.
    public static let maximumPayloadByteCount = 1 << 30
    /// The largest `subscriberBufferCapacity` and `historyCapacity`.
    public static let maximumQueueCapacity = 1 << 16
    /// The most ports (publishers and subscribers together).
    public static let maximumPorts = 64

    /// A configuration; `validate()` checks it (every service call does).
    public init(
        payloadByteCount: Int, payloadAlignment: Int = 8, maxPublishers: Int = 2, maxSubscribers: Int = 8,
        subscriberBufferCapacity: Int = 16, historyCapacity: Int = 0, overflowPolicy: OverflowPolicy = .block
    ) {
        self.payloadByteCount = payloadByteCount
        self.payloadAlignment = payloadAlignment
        self.maxPublishers = maxPublishers
        self.maxSubscribers = maxSubscribers
        self.subscriberBufferCapacity = subscriberBufferCapacity
        self.historyCapacity = historyCapacity
        self.overflowPolicy = overflowPolicy
    }

    /// The chunks in the pool: enough for every holder at its limit at once (each publisher's
    /// history, one loan and its cache of free chunks, every queue full, every subscriber holding
    /// a full buffer's worth), so `loan()` finds one unless a port broke its limits or died holding chunks.
    public var chunkCount: Int {
        maxPublishers * (historyCapacity + 1 + Self.publisherCacheCount)
            + maxSubscribers * maxPublishers * subscriberBufferCapacity + maxSubscribers * subscriberBufferCapacity
    }

    /// How many free chunks a publisher takes from the pool at once and keeps for its next loans.
    static let publisherCacheCount = 8

    /// `payload 64 B (align 8), 2 publishers, 8 subscribers, buffer 16, history 0, overflow block`
    public var description: String {
        "payload \(payloadByteCount) B (align \(payloadAlignment)), \(maxPublishers) publishers, "
            + "\(maxSubscribers) subscribers, buffer \(subscriberBufferCapacity), history \(historyCapacity), "
            + "overflow \(overflowPolicy)"
    }

    /// Checks every field's range.
    ///
    /// - Throws: `.invalidArgument` naming the field, its value and the range it must lie in.
    public func validate() throws(SharedMemoryError) {
        func check(_ ok: Bool, _ field: String, _ value: Int, _ rule: String) throws(SharedMemoryError) {
            guard ok else {
                throw SharedMemoryError(
                    code: .invalidArgument, operation: "ServiceConfiguration",
                    message: "\(field) is \(value), but \(rule)", hint: "give \(field) \(rule)")
            }
        }
        try check(
            payloadByteCount >= 1 && payloadByteCount <= Self.maximumPayloadByteCount, "payloadByteCount",
            payloadByteCount, "from 1 to \(Self.maximumPayloadByteCount)")
        try check(
            payloadAlignment >= 1 && payloadAlignment <= 64 && payloadAlignment.nonzeroBitCount == 1,
            "payloadAlignment", payloadAlignment, "a power of two from 1 to 64")
        try check(maxPublishers >= 1, "maxPublishers", maxPublishers, "at least 1")
        try check(maxSubscribers >= 1, "maxSubscribers", maxSubscribers, "at least 1")
        try check(
            maxPublishers <= Self.maximumPorts - maxSubscribers, "maxPublishers + maxSubscribers",
            maxPublishers + maxSubscribers, "at most \(Self.maximumPorts)")
        try check(
            subscriberBufferCapacity >= 1 && subscriberBufferCapacity <= Self.maximumQueueCapacity,
            "subscriberBufferCapacity", subscriberBufferCapacity, "from 1 to \(Self.maximumQueueCapacity)")
        try check(
            historyCapacity >= 0 && historyCapacity <= Self.maximumQueueCapacity, "historyCapacity", historyCapacity,
            "from 0 to \(Self.maximumQueueCapacity)")
    }
}
