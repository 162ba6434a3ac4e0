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
/// and has spun a while, sleeps (`futex(FUTEX_WAIT)`) until a server wakes it.
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
    let responses: [ChunkQueue]
    let serverSleeping: [UnsafeMutablePointer<Atomic<UInt32>>]
    let serverWake: [FutexWord]
    let waiting: AnnouncedWait
    /// Responses received and not yet released.
    let held = Atomic<Int>(0)
    var nextRequestID: UInt64
    /// The server whose responses are read first next time (round robin).
    var nextServer = 0

    /// How a client waits for responses by default: re-reads of its queues before it sleeps.
    public static let defaultWaitStrategy = SpinThenWait(spins: 4096)

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
        let (memory, layout, index) = (service.memory, service.layout, publisher.index)
        pool = publisher.pool
        bit = publisher.bit
        header = service.configuration.headerByteCount
        let servers = 0..<service.configuration.maxServers
        responses = servers.map { ChunkQueue(memory, offset: layout.responseQueue(server: $0, client: index)) }
        serverSleeping = servers.map {
            memory.atomic32(layout.channel.subscriberPort($0) + RequestResponseLayout.replySleeping)
        }
        var words: [FutexWord] = []
        for server in servers {
            words.append(try FutexWord(in: memory.region, at: layout.channel.subscriberPort(server) + ServiceLayout.Port.wake))
        }
        serverWake = words
        waiting = AnnouncedWait(
            sleeping: memory.atomic32(layout.channel.publisherPort(index) + RequestResponseLayout.replySleeping),
            wake: publisher.wake)
        waiting.sleeping.pointee.store(0, ordering: .relaxed)
        nextRequestID = UInt64.random(in: 1...(UInt64.max >> 1))
        let (pool, bit, responses) = (pool, bit, responses)
        // A predecessor's responses: its bit was cleared from their chunks when it was cleaned, and a
        // late response to it carries this slot's bit; releasing changes only chunks that carry it.
        try memory.withLock { () throws(SharedMemoryError) in
            for queue in responses {
                while let chunk = try queue.take() { pool.release(chunk, bit) }
            }
        }
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
        guard count >= 0, count <= maximumRequestByteCount else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "Client.send", address: service.address.description,
                message: "a \(count)-byte request does not fit a payload of \(maximumRequestByteCount) bytes",
                hint: "send at most requestPayloadByteCount bytes, or create the service with a larger payload")
        }
        let id = request.id
        guard try publisher.send(request.sample, byteCount: header + count, timeout: timeout) else { return nil }
        return id
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
        guard bytes.count <= maximumRequestByteCount else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "Client.send", address: service.address.description,
                message: "a \(bytes.count)-byte request does not fit a payload of \(maximumRequestByteCount) bytes",
                hint: "send at most requestPayloadByteCount bytes, or create the service with a larger payload")
        }
        let request = try loan()
        try PayloadCopy.copy(bytes, into: request.payload, in: service.region, operation: "Client.send")
        return try send(request, byteCount: bytes.count, timeout: timeout)
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
        let servers = responses.count
        for step in 0..<servers {
            var server = nextServer &+ step
            if server >= servers { server &-= servers }
            guard let chunk = try responses[server].take() else { continue }
            nextServer = server &+ 1 == servers ? 0 : server &+ 1
            // After the tail's sequentially consistent exchange: a server waiting for room is seen.
            AnnouncedWait.wakeIfSleeping(serverSleeping[server], serverWake[server])
            let length = Int(pool.length(chunk).pointee.load(ordering: .relaxed))
            guard length >= header, length - header <= service.configuration.responsePayloadByteCount else {
                pool.release(chunk, bit)
                throw .corrupted(
                    "Client.receive", service.address, field: "length of chunk \(chunk)", value: length,
                    rule: "a response is the \(header)-byte header and at most "
                        + "\(service.configuration.responsePayloadByteCount) bytes")
            }
            held.wrappingAdd(1, ordering: .relaxed)
            let start = pool.payload(chunk)
            return ReceivedResponse(
                client: self, chunk: chunk, server: server, requestID: start.load(as: UInt64.self),
                bytes: UnsafeRawBufferPointer(start: start + header, count: length - header))
        }
        return nil
    }

    /// Waits for the next response to any request: spinning first, then announcing that it
    /// sleeps and sleeping on its wake word (`futex(FUTEX_WAIT)`) until a server wakes it. `nil`
    /// if `timeout` passed first.
    ///
    /// - Parameters:
    ///   - timeout: how long to wait; `nil` waits as long as it takes.
    ///   - strategy: how many re-reads of the queues before sleeping.
    /// - Throws: as `receive()`; a `futex` failure other than a timeout.
    public func receive(timeout: Duration?, strategy: SpinThenWait = Client.defaultWaitStrategy)
        throws(SharedMemoryError) -> ReceivedResponse?
    {
        try waiting.wait(timeout: timeout, strategy: strategy, ready: anyWaiting, attempt: receive)
    }

    /// Waits for the next response to request `id`, as `receive(timeout:strategy:)` does;
    /// responses to other requests that come first (late answers to requests given up on) are dropped.
    ///
    /// - Parameters:
    ///   - id: what `send` returned.
    ///   - timeout: how long to wait in all; `nil` waits as long as it takes.
    ///   - strategy: how many re-reads of the queues before sleeping.
    /// - Throws: as `receive()`; a `futex` failure other than a timeout.
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

    /// Whether any response waits (sequentially consistent loads, after the sleep announcement).
    private func anyWaiting() throws(SharedMemoryError) -> Bool {
        for queue in responses where try queue.count() > 0 { return true }
        return false
    }

    /// A response dropped: clear this client's bit from its chunk (the last holder frees it).
    func release(_ chunk: Int) {
        held.wrappingAdd(-1, ordering: .relaxed)
        pool.release(chunk, bit)
    }
}
