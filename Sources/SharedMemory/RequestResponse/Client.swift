import Synchronization

/// The asking side of a request-response service: loans a chunk, the caller writes the request
/// in place, and `send` hands it to every attached server without copying it again; responses
/// come back as views into the chunks the servers wrote. Each request gets an id, which every
/// response to it carries. Use a client from one thread at a time; it detaches when it and its
/// responses are released.
///
/// While servers keep up, a request costs what a publish-subscribe sample costs (the free list's
/// compare-and-swap, the service's lock, a store per server queue) and a response a
/// compare-and-swap on a queue's tail: no system call. Only a client that finds no response,
/// and has spun a while, announces that it sleeps and sleeps (`futex(FUTEX_WAIT)`) until a
/// server wakes it.
public final class Client: @unchecked Sendable {
    // @unchecked: one thread at a time uses a client; its responses count atomically.
    /// The service this client is attached to.
    public let service: RequestResponseService
    /// Its slot in the service's registry: 0 up to `maxClients - 1`.
    public var index: Int { publisher.index }
    let publisher: Publisher
    let pool: ChunkPool
    let bit: UInt64
    let header: Int
    /// The queues from each server to this client, and the servers' flags for room in them.
    let responses: ResponsePath
    /// Responses received and not yet released.
    let held = Atomic<Int>(0)
    /// The ids this client gave, `firstRequestID ..< nextRequestID` (wrapping): a response with
    /// another id was meant for a predecessor in the slot.
    let firstRequestID: UInt64
    var nextRequestID: UInt64
    /// The server whose responses are read first next time (round robin).
    var nextServer = 0

    /// How a client waits for responses by default: re-reads of its queues before it sleeps (tens
    /// of microseconds, as `SPSCRing.defaultWaitStrategy`).
    public static let defaultWaitStrategy = SpinThenWait(spins: 32768)

    /// Attaches a client, taking a free slot of the registry (under the service's lock, after
    /// cleaning the ports of dead processes), and drops the responses a previous client in the
    /// slot left behind.
    ///
    /// - Parameter service: the service to attach to.
    /// - Throws: `.limitExceeded` when `maxClients` live clients are attached; `.timedOut` if the
    ///   service's lock stays held; `.corrupted` for a port word or queue no process of this library writes.
    public init(service: RequestResponseService) throws(SharedMemoryError) {
        self.service = service
        publisher = try Publisher(service: service.channel)
        let (layout, index) = (service.layout, publisher.index)
        pool = publisher.pool
        bit = publisher.bit
        header = service.configuration.headerByteCount
        responses = try ResponsePath(
            service.memory, port: layout.channel.publisherPort(index), wake: publisher.wake,
            others: (0..<service.configuration.maxServers).map { layout.channel.subscriberPort($0) },
            queue: { layout.responseQueue(server: $0, client: index) })
        firstRequestID = UInt64.random(in: 1...(UInt64.max >> 1))
        nextRequestID = firstRequestID
        try service.memory.withLock { () throws(SharedMemoryError) in try service.drainResponses(to: index) }
    }

    /// The largest request: the service's `requestPayloadByteCount`.
    public var maximumRequestByteCount: Int { service.configuration.requestPayloadByteCount }

    /// A chunk of the pool to write a request into, in place, with its id; send it with
    /// `send(_:byteCount:timeout:)`, or drop it to give it back. One loan at a time.
    ///
    /// - Throws: `.invalidArgument` while another loan of this client is outstanding;
    ///   `.limitExceeded` when the pool has no free chunk even after cleaning dead ports;
    ///   `.corrupted` when the free list breaks its rules.
    public func loan() throws(SharedMemoryError) -> LoanedRequest {
        let sample = try publisher.loan()
        let id = nextRequestID
        nextRequestID &+= 1
        sample.payload.storeBytes(of: id, as: UInt64.self)
        let payload = UnsafeMutableRawBufferPointer(
            start: sample.payload.baseAddress! + header, count: maximumRequestByteCount)
        return LoanedRequest(sample: sample, id: id, payload: payload)
    }

    /// Sends a loaned request to every attached server: its chunk's index goes into each server's
    /// queue (under the service's lock), and each server that sleeps is woken (`futex(FUTEX_WAKE)`).
    /// A server's full queue makes it wait for room, at most `timeout`. A request sent while no
    /// server is attached reaches nobody.
    ///
    /// - Parameters:
    ///   - request: the loan, written; consumed either way (on a timeout or an error its chunk
    ///     goes back to the pool).
    ///   - byteCount: how many of the payload's bytes the request carries; all when `nil`.
    ///   - timeout: how long to wait for room; `nil` waits as long as it takes.
    /// - Returns: the request's id, which its responses carry; `nil` if the timeout passed first
    ///   (nothing was sent).
    /// - Throws: `.invalidSize` for a `byteCount` larger than the request payload; `.corrupted`
    ///   when a queue or the free list breaks its rules; `.timedOut` if the service's lock stays held.
    @discardableResult
    public func send(_ request: consuming LoanedRequest, byteCount: Int? = nil, timeout: Duration? = nil)
        throws(SharedMemoryError) -> UInt64?
    {
        let count = byteCount ?? maximumRequestByteCount
        try service.checkPayload(count, maximum: maximumRequestByteCount, of: "request", operation: "Client.send")
        return try deliver(request, byteCount: count, timeout: timeout)
    }

    /// Copies `bytes` into a loaned chunk and sends it, as `send(_:byteCount:timeout:)` does.
    ///
    /// - Parameters:
    ///   - bytes: the request, at most `requestPayloadByteCount` bytes.
    ///   - timeout: how long to wait for room; `nil` waits as long as it takes.
    /// - Returns: the request's id; `nil` if the timeout passed first.
    /// - Throws: as `send(_:byteCount:timeout:)`.
    @discardableResult
    public func send(bytes: some Collection<UInt8>, timeout: Duration? = nil) throws(SharedMemoryError) -> UInt64? {
        try service.checkPayload(bytes.count, maximum: maximumRequestByteCount, of: "request", operation: "Client.send")
        let request = try loan()
        try PayloadCopy.copy(bytes, into: request.payload, in: service.region, operation: "Client.send")
        return try deliver(request, byteCount: bytes.count, timeout: timeout)
    }

    /// Sends a request whose size was checked: its id, or `nil` at the timeout.
    private func deliver(_ request: consuming LoanedRequest, byteCount: Int, timeout: Duration?)
        throws(SharedMemoryError) -> UInt64?
    {
        let id = request.id
        guard try publisher.send(request.sample, byteCount: header + byteCount, timeout: timeout) else { return nil }
        return id
    }

    /// The next response to any of this client's requests, in place, or `nil` if none waits now.
    /// Release it (drop it) when done; at most `bufferCapacity` may be held at once.
    ///
    /// - Throws: `.limitExceeded` when this client already holds `bufferCapacity` responses;
    ///   `.corrupted` when a queue, an index or a length breaks its rules.
    public func receive() throws(SharedMemoryError) -> ReceivedResponse? {
        let capacity = service.configuration.bufferCapacity
        guard held.load(ordering: .relaxed) < capacity else {
            throw SharedMemoryError(
                code: .limitExceeded, operation: "Client.receive", address: service.address.description,
                message: "this client holds \(capacity) responses, its limit",
                hint: "release (drop) received responses before receiving more")
        }
        let servers = responses.queues.count
        var step = 0
        while step < servers {
            var server = nextServer &+ step
            if server >= servers { server &-= servers }
            guard let entry = try responses.queues[server].take(soleTaker: false, checksHead: true) else {
                step &+= 1
                continue
            }
            let chunk = entry.chunk
            nextServer = server &+ 1 == servers ? 0 : server &+ 1
            // After the tail's sequentially consistent exchange: a server waiting for room is seen.
            responses.wake(server)
            // The length travels in the entry: the chunk's record line stays with the server.
            let length = Int(entry.length)
            guard length >= header, length - header <= service.configuration.responsePayloadByteCount else {
                pool.release(chunk, bit)
                throw .corrupted(
                    "Client.receive", service.address, field: "length of chunk \(chunk)", value: length,
                    rule: "a response is the \(header)-byte header and at most "
                        + "\(service.configuration.responsePayloadByteCount) bytes")
            }
            let start = pool.payload(chunk)
            let id = start.load(as: UInt64.self)
            // A response the server sent while this client's predecessor in the slot left: not ours.
            guard id &- firstRequestID < nextRequestID &- firstRequestID else {
                pool.release(chunk, bit)
                continue
            }
            held.wrappingAdd(1, ordering: .relaxed)
            return ReceivedResponse(
                client: self, chunk: chunk, server: server, requestID: id,
                bytes: UnsafeRawBufferPointer(start: start + header, count: length - header))
        }
        return nil
    }

    /// Waits for the next response to any request: spinning first, then announcing that it
    /// sleeps and sleeping on its wake word (`futex(FUTEX_WAIT)`) until a server wakes it. `nil`
    /// if `timeout` passed first.
    ///
    /// While it sleeps it looks for ports whose processes died at least every half second, and
    /// cleans them (`RequestResponseService.cleanDeadPorts()`).
    ///
    /// - Parameters:
    ///   - timeout: how long to wait; `nil` waits as long as it takes.
    ///   - strategy: how many re-reads of the queues before sleeping.
    /// - Throws: `.peerDied` when no response waits and no server is attached: those that had
    ///   this client's requests died (SIGKILL, a crash) or detached, so nothing can answer. As
    ///   `receive()`; a `futex` failure other than a timeout.
    public func receive(timeout: Duration?, strategy: SpinThenWait = Client.defaultWaitStrategy)
        throws(SharedMemoryError) -> ReceivedResponse?
    {
        try responses.waiting.wait(
            timeout: timeout, strategy: strategy, ready: responses.anyWaiting, attempt: receive,
            stillUseful: anyServer)
    }

    /// Waits for the next response to request `id`, as `receive(timeout:strategy:)` does;
    /// responses to other requests that come first (late answers to requests given up on) are dropped.
    ///
    /// - Parameters:
    ///   - id: what `send` returned.
    ///   - timeout: how long to wait in all; `nil` waits as long as it takes.
    ///   - strategy: how many re-reads of the queues before sleeping.
    /// - Throws: as `receive(timeout:strategy:)`.
    public func receive(
        responseTo id: UInt64, timeout: Duration?, strategy: SpinThenWait = Client.defaultWaitStrategy
    ) throws(SharedMemoryError) -> ReceivedResponse? {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            let remaining = deadline.map { max(.zero, clock.now.duration(to: $0)) }
            guard let response = try receive(timeout: remaining, strategy: strategy) else { return nil }
            if response.requestID == id { return response }
        }
    }

    /// Whether a server is attached, after cleaning those whose processes died (what a waiting
    /// client checks between slices of its sleep); `.peerDied` if none is and no response waits.
    private func anyServer() throws(SharedMemoryError) -> Bool {
        try service.cleanDeadPortsIfAny()
        if try service.registry.subscriberMask() != 0 { return true }
        if try responses.anyWaiting() { return true }
        throw SharedMemoryError(
            code: .peerDied, operation: "Client.receive", address: service.address.description,
            message: "no server is attached and no response waits: the servers that had this client's requests "
                + "died or detached",
            hint: "start a server and send the request again, or stop")
    }

    /// A response dropped: clear this client's bit from its chunk (the last holder frees it).
    func release(_ chunk: Int) {
        held.wrappingAdd(-1, ordering: .relaxed)
        pool.release(chunk, bit)
    }
}
