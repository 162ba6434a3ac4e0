import Synchronization

/// The answering side of a request-response service: receives every client's requests in place,
/// loans chunks for responses, and sends each response to the client that asked, without copying
/// it again; a request may get any number of responses. With several servers attached, each
/// receives every request. Use a server from one thread at a time; it detaches when it and its
/// requests are released.
///
/// Receiving costs a compare-and-swap on a queue's tail; responding the free list's
/// compare-and-swap and one store into the queue to the client, whose only writer this server is
/// (no lock): no system call while the client is awake. Only a server that finds no request, and
/// has spun a while, sleeps (`futex(FUTEX_WAIT)`).
public final class Server: @unchecked Sendable {
    // @unchecked: one thread at a time uses a server (its loan flag is unsynchronized).
    /// The service this server is attached to.
    public let service: RequestResponseService
    /// Its slot in the service's registry: 0 up to `maxServers - 1`.
    public var index: Int { subscriber.index }
    let subscriber: Subscriber
    let registry: PortRegistry
    let pool: ChunkPool
    let bit: UInt64
    let header: Int
    /// The queues from this server to each client (this server their only writer), and the
    /// clients' flags for responses.
    let responses: ResponsePath
    /// Per client, the tail of the queue to it as last read (`ChunkQueue.hasRoom(tailSeen:)`):
    /// memory of this process, re-read from the region only when the queue looks full.
    let tailsSeen: UnsafeMutablePointer<UInt64>
    var loanOutstanding = false

    /// How a server waits by default: re-reads of its queues before it sleeps (tens of
    /// microseconds, as `SPSCRing.defaultWaitStrategy`).
    public static let defaultWaitStrategy = SpinThenWait(spins: 32768)

    /// Attaches a server, taking a free slot of the registry (under the service's lock, after
    /// cleaning the ports of dead processes).
    ///
    /// - Parameter service: the service to attach to.
    /// - Throws: `.limitExceeded` when `maxServers` live servers are attached; `.timedOut` if the
    ///   service's lock stays held; `.corrupted` for a port word no process of this library writes.
    public init(service: RequestResponseService) throws(SharedMemoryError) {
        self.service = service
        subscriber = try Subscriber(service: service.channel)
        let (layout, index) = (service.layout, subscriber.index)
        registry = subscriber.registry
        pool = subscriber.pool
        bit = subscriber.bit
        header = service.configuration.headerByteCount
        responses = try ResponsePath(
            service.memory, port: layout.channel.subscriberPort(index), wake: subscriber.wake,
            others: (0..<service.configuration.maxClients).map { layout.channel.publisherPort($0) },
            queue: { layout.responseQueue(server: index, client: $0) })
        tailsSeen = .allocate(capacity: service.configuration.maxClients)
        tailsSeen.initialize(repeating: 0, count: service.configuration.maxClients)
    }

    deinit {
        tailsSeen.deallocate()
    }

    /// The largest response: the service's `responsePayloadByteCount`.
    public var maximumResponseByteCount: Int { service.configuration.responsePayloadByteCount }

    /// The next request from any client, in place, or `nil` if none waits now. Release it (drop
    /// it) when done; at most `bufferCapacity` may be held at once.
    ///
    /// - Throws: `.limitExceeded` when this server already holds `bufferCapacity` requests;
    ///   `.corrupted` when a queue, an index or a length breaks its rules.
    public func receive() throws(SharedMemoryError) -> ReceivedRequest? {
        guard let sample = try subscriber.receive() else { return nil }
        return try request(sample)
    }

    /// Waits for the next request: spinning first (`strategy.spins` re-reads of the queues), then
    /// sleeping on its wake word (`futex(FUTEX_WAIT)`) until a client wakes it. `nil` if `timeout`
    /// passed first.
    ///
    /// - Parameters:
    ///   - timeout: how long to wait; `nil` waits as long as it takes.
    ///   - strategy: how many re-reads of the queues before sleeping.
    /// - Throws: as `receive()`; a `futex` failure other than a timeout.
    public func receive(timeout: Duration?, strategy: SpinThenWait = Server.defaultWaitStrategy)
        throws(SharedMemoryError) -> ReceivedRequest?
    {
        guard let sample = try subscriber.receive(timeout: timeout, strategy: strategy) else { return nil }
        return try request(sample)
    }

    private func request(_ sample: consuming ReceivedSample) throws(SharedMemoryError) -> ReceivedRequest {
        guard sample.bytes.count >= header else {
            throw .corrupted(
                "Server.receive", service.address, field: "length of chunk \(sample.chunk)", value: sample.bytes.count,
                rule: "a request is at least its \(header)-byte header")
        }
        let word = registry.word(.publisher, sample.publisher).pointee.load(ordering: .acquiring)
        let id = sample.bytes.load(as: UInt64.self)
        let bytes = UnsafeRawBufferPointer(rebasing: sample.bytes[header...])
        return ReceivedRequest(sample: sample, clientWord: word, id: id, bytes: bytes)
    }

    /// A chunk of the pool for a response to `request`, with the request's id written in; send it
    /// with `send(_:byteCount:timeout:)`, or drop it to give it back. One loan at a time.
    ///
    /// - Parameter request: the request it answers (it may be released before the response is sent).
    /// - Throws: `.invalidArgument` while another loan of this server is outstanding;
    ///   `.limitExceeded` when the pool has no free chunk even after cleaning dead ports;
    ///   `.corrupted` when the free list breaks its rules.
    public func loan(respondingTo request: borrowing ReceivedRequest) throws(SharedMemoryError) -> LoanedResponse {
        guard !loanOutstanding else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "Server.loan", address: service.address.description,
                message: "this server already has a response on loan",
                hint: "send or drop the loaned response before loaning another")
        }
        var chunk = try pool.take(for: bit)
        if chunk == nil {
            try service.cleanDeadPorts()
            chunk = try pool.take(for: bit)
        }
        guard let chunk else {
            throw SharedMemoryError(
                code: .limitExceeded, operation: "Server.loan", address: service.address.description,
                message: "all \(service.memory.layout.chunkCount) chunks of the pool are held",
                hint: "a port holds more than its buffer, or a port of a live process does not let go; "
                    + "release requests and responses, or detach that port")
        }
        loanOutstanding = true
        let start = pool.payload(chunk)
        start.storeBytes(of: request.id, as: UInt64.self)
        return LoanedResponse(
            server: self, chunk: chunk, client: request.client, clientWord: request.clientWord, requestID: request.id,
            payload: UnsafeMutableRawBufferPointer(start: start + header, count: maximumResponseByteCount))
    }

    /// A loan dropped unsent goes back to the pool.
    func giveBack(_ chunk: Int) {
        loanOutstanding = false
        pool.release(chunk, bit)
    }

    /// Sends a loaned response to the client whose request it answers: its chunk's index goes
    /// into the queue from this server to that client, of which this server is the only writer
    /// (no lock), and the client is woken if it announced that it sleeps (`futex(FUTEX_WAKE)`). A
    /// full queue makes it wait for room, at most `timeout`.
    ///
    /// - Parameters:
    ///   - response: the loan, written; consumed either way (if it is not delivered its chunk goes
    ///     back to the pool).
    ///   - byteCount: how many of the payload's bytes the response carries; all when `nil`.
    ///   - timeout: how long to wait for room; `nil` waits as long as it takes.
    /// - Returns: `false` if the client detached or died (its death seen through `kill(pid, 0)`)
    ///   or the timeout passed first: nothing was sent.
    /// - Throws: `.invalidSize` for a `byteCount` larger than the response payload; `.corrupted`
    ///   when a queue breaks its rules; `.timedOut` if the service's lock stays held (taken only
    ///   to clean up after a client that left).
    @discardableResult
    public func send(_ response: consuming LoanedResponse, byteCount: Int? = nil, timeout: Duration? = nil)
        throws(SharedMemoryError) -> Bool
    {
        let count = byteCount ?? maximumResponseByteCount
        try service.checkPayload(count, maximum: maximumResponseByteCount, of: "response", operation: "Server.send")
        return try deliver(response, byteCount: count, timeout: timeout)
    }

    /// Copies `bytes` into a response loaned for `request` and sends it, as `send(_:byteCount:timeout:)` does.
    ///
    /// - Parameters:
    ///   - request: the request it answers.
    ///   - bytes: the response, at most `responsePayloadByteCount` bytes.
    ///   - timeout: how long to wait for room; `nil` waits as long as it takes.
    /// - Returns: `false` if the client left or died, or the timeout passed first.
    /// - Throws: as `loan(respondingTo:)` and `send(_:byteCount:timeout:)`.
    @discardableResult
    public func respond(to request: borrowing ReceivedRequest, bytes: some Collection<UInt8>, timeout: Duration? = nil)
        throws(SharedMemoryError) -> Bool
    {
        try service.checkPayload(bytes.count, maximum: maximumResponseByteCount, of: "response", operation: "Server.send")
        let response = try loan(respondingTo: request)
        try PayloadCopy.copy(bytes, into: response.payload, in: service.region, operation: "Server.send")
        return try deliver(response, byteCount: bytes.count, timeout: timeout)
    }

    /// Sends a response whose size was checked; `false` if the client left or died, or at the timeout.
    private func deliver(_ response: consuming LoanedResponse, byteCount: Int, timeout: Duration?)
        throws(SharedMemoryError) -> Bool
    {
        let (chunk, client, clientWord) = (response.chunk, response.client, response.clientWord)
        let queue = responses.queues[client]
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            guard clientWord != 0, registry.word(.publisher, client).pointee.load(ordering: .acquiring) == clientWord
            else { return false }
            if try queue.hasRoom(tailSeen: &tailsSeen[client]) { break }
            let room = { () throws(SharedMemoryError) -> Bool in try queue.count() < queue.capacity }
            guard
                try responses.waiting.wait(
                    timeout: deadline.map { clock.now.duration(to: $0) }, strategy: Self.defaultWaitStrategy, ready: room,
                    attempt: { () throws(SharedMemoryError) -> Bool? in try room() ? true : nil },
                    stillUseful: { () throws(SharedMemoryError) -> Bool in try clientStays(client, clientWord) }) != nil
            else { return false }
        }
        // The chunk is this server's alone until the append: from then on it is the client's.
        pool.holders(chunk).pointee.store(registry.bit(.publisher, client), ordering: .releasing)
        queue.append(chunk, length: UInt32(header + byteCount))
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        response.sent = true
        loanOutstanding = false
        // After the append and a full fence. A client that left or died meanwhile was
        // cleaned while the chunk was still this server's: take back what waits for it (under the
        // lock, so that no successor in the slot attaches meanwhile; one that attached already
        // drained the queue, so only this push can be there, and it drops a response it took).
        guard registry.word(.publisher, client).pointee.load(ordering: .sequentiallyConsistent) == clientWord else {
            try service.memory.withLock { () throws(SharedMemoryError) in
                try service.drainResponses(to: client, from: index..<index + 1)
            }
            return false
        }
        responses.wake(client)
        return true
    }

    /// Whether the client is still the one that asked, after a slice of waiting for room; a
    /// client whose process died is cleaned.
    private func clientStays(_ client: Int, _ clientWord: UInt64) throws(SharedMemoryError) -> Bool {
        guard registry.word(.publisher, client).pointee.load(ordering: .acquiring) == clientWord else { return false }
        guard let record = try registry.record(.publisher, client), record.isAlive else {
            try service.cleanDeadPorts()
            return false
        }
        return true
    }
}
