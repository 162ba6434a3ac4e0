/// The static configuration of a request-response service: fixed when the service's region is
/// created, recorded in it, and checked against what every later opener asks for.
///
/// Requests and responses share one pool of chunks, each large enough for either; from the
/// counts below follows the pool's size, so that ports that keep to their limits never find it
/// empty (see `chunkCount`).
public struct RequestResponseConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The largest request payload, in bytes: 0 to `maximumPayloadByteCount`.
    public var requestPayloadByteCount: Int
    /// The largest response payload, in bytes: 0 to `maximumPayloadByteCount`.
    public var responsePayloadByteCount: Int
    /// The alignment of every payload's first byte: a power of two from 1 to 64.
    public var payloadAlignment: Int
    /// How many clients may be attached at once.
    public var maxClients: Int
    /// How many servers may be attached at once; with `maxClients` at most 64 in all (each port
    /// owns one bit of every chunk's holders word).
    public var maxServers: Int
    /// Requests each client can queue for each server, and responses each server can queue for
    /// each client, before the sender waits; also how many requests a server, and responses a
    /// client, may hold at once.
    public var bufferCapacity: Int

    /// The largest request or response payload: 1 GiB less 64 bytes (the chunk's header).
    public static let maximumPayloadByteCount = ServiceConfiguration.maximumPayloadByteCount - 64

    /// A configuration; `validate()` checks it (every service call does).
    ///
    /// - Parameters:
    ///   - requestPayloadByteCount: the largest request payload, in bytes.
    ///   - responsePayloadByteCount: the largest response payload, in bytes.
    ///   - payloadAlignment: the alignment of every payload's first byte.
    ///   - maxClients: how many clients may be attached at once.
    ///   - maxServers: how many servers may be attached at once.
    ///   - bufferCapacity: requests or responses queued per client and server, and held per port.
    public init(
        requestPayloadByteCount: Int, responsePayloadByteCount: Int, payloadAlignment: Int = 8, maxClients: Int = 8,
        maxServers: Int = 1, bufferCapacity: Int = 16
    ) {
        self.requestPayloadByteCount = requestPayloadByteCount
        self.responsePayloadByteCount = responsePayloadByteCount
        self.payloadAlignment = payloadAlignment
        self.maxClients = maxClients
        self.maxServers = maxServers
        self.bufferCapacity = bufferCapacity
    }

    /// The chunks in the pool: enough for every holder at its limit at once (each client's
    /// request on loan and a full buffer of responses, each server's response on loan and a full
    /// buffer of requests, every queue in both directions full).
    public var chunkCount: Int {
        maxClients * (1 + bufferCapacity) + maxServers * (1 + bufferCapacity) + 2 * maxClients * maxServers * bufferCapacity
    }

    /// `requests 64 B, responses 64 B (align 8), 8 clients, 1 servers, buffer 16`
    public var description: String {
        "requests \(requestPayloadByteCount) B, responses \(responsePayloadByteCount) B (align \(payloadAlignment)), "
            + "\(maxClients) clients, \(maxServers) servers, buffer \(bufferCapacity)"
    }

    /// Checks every field's range.
    ///
    /// - Throws: `.invalidArgument` naming the field, its value and the range it must lie in.
    public func validate() throws(SharedMemoryError) {
        func check(_ ok: Bool, _ field: String, _ value: Int, _ rule: String) throws(SharedMemoryError) {
            guard ok else {
                throw SharedMemoryError(
                    code: .invalidArgument, operation: "RequestResponseConfiguration",
                    message: "\(field) is \(value), but \(rule)", hint: "give \(field) \(rule)")
            }
        }
        for (field, value) in [
            ("requestPayloadByteCount", requestPayloadByteCount), ("responsePayloadByteCount", responsePayloadByteCount),
        ] {
            try check(
                value >= 0 && value <= Self.maximumPayloadByteCount, field, value, "from 0 to \(Self.maximumPayloadByteCount)")
        }
        try check(
            payloadAlignment >= 1 && payloadAlignment <= 64 && payloadAlignment.nonzeroBitCount == 1,
            "payloadAlignment", payloadAlignment, "a power of two from 1 to 64")
        try check(maxClients >= 1, "maxClients", maxClients, "at least 1")
        try check(maxServers >= 1, "maxServers", maxServers, "at least 1")
        try check(
            maxClients <= ServiceConfiguration.maximumPorts - maxServers, "maxClients + maxServers",
            maxClients + maxServers, "at most \(ServiceConfiguration.maximumPorts)")
        try check(
            bufferCapacity >= 1 && bufferCapacity <= ServiceConfiguration.maximumQueueCapacity, "bufferCapacity",
            bufferCapacity, "from 1 to \(ServiceConfiguration.maximumQueueCapacity)")
    }

    /// The bytes before a payload in its chunk: the request id, padded to the alignment.
    var headerByteCount: Int { max(8, payloadAlignment) }

    /// The publish-subscribe shape the service is built on: clients publish requests to every
    /// server (its subscribers); responses travel in queues the request-response layout adds.
    var channel: ServiceConfiguration {
        ServiceConfiguration(
            payloadByteCount: headerByteCount + max(requestPayloadByteCount, responsePayloadByteCount),
            payloadAlignment: payloadAlignment, maxPublishers: maxClients, maxSubscribers: maxServers,
            subscriberBufferCapacity: bufferCapacity, historyCapacity: 0, overflowPolicy: .block)
    }
}
