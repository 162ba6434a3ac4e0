import Synchronization

/// The sending side of a publish-subscribe service: loans a chunk, the caller writes the sample
/// in place, and `send` hands the chunk to every attached subscriber at once, without copying it
/// again. Use a publisher from one thread at a time; it detaches when it is released.
///
/// While subscribers keep up, a sample costs a chunk of its cache (refilled from the free list in
/// batches, one compare-and-swap each), the service's
/// lock (one compare-and-swap and one exchange, `futex` only when contended), an entry per
/// subscriber queue, one fence and a load of each subscriber's sleep flag: no system call. A
/// subscriber asleep costs one `futex(FUTEX_WAKE)`.
public final class Publisher: @unchecked Sendable {
    // @unchecked: one thread at a time uses a publisher (its loan flag is unsynchronized).
    /// The service this publisher is attached to.
    public let service: PublishSubscribeService
    /// Its slot in the service's registry: 0 up to `maxPublishers - 1`.
    public let index: Int
    let memory: ServiceMemory
    let registry: PortRegistry
    let pool: ChunkPool
    let bit: UInt64
    let history: History
    let queues: [ChunkQueue]
    let subscriberSleeping: [UnsafeMutablePointer<Atomic<UInt32>>]
    let subscriberWake: [FutexWord]
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>
    let wake: FutexWord
    let sentCount: UnsafeMutablePointer<Atomic<UInt64>>
    /// Per subscriber queue, the tail last read (`ChunkQueue.hasRoom(tailSeen:)`): memory of this
    /// process, reached without the exclusivity checks an array property costs per access.
    let tailsSeen: UnsafeMutablePointer<UInt64>
    /// Free chunks taken from the pool in a batch, for the next loans (`ChunkPool.take(upTo:into:publisher:)`).
    let cache: UnsafeMutablePointer<UInt32>
    /// The cache's chunks are `cache[nextCached..<cached]`, loaned in the free list's order.
    var nextCached = 0
    var cached = 0
    var loanOutstanding = false

    /// How a blocked publisher waits by default: re-reads of the full queue before it sleeps (tens
    /// of microseconds, as `SPSCRing.defaultWaitStrategy`).
    public static let defaultWaitStrategy = SpinThenWait(spins: 32768)

    /// Attaches a publisher, taking a free slot of the registry (under the service's lock, after
    /// cleaning the ports of dead processes).
    ///
    /// - Throws: `.limitExceeded` when `maxPublishers` live publishers are attached; `.timedOut`
    ///   if the service's lock stays held; `.corrupted` for a port word no process of this library writes.
    public init(service: PublishSubscribeService) throws(SharedMemoryError) {
        self.service = service
        memory = service.memory
        registry = PortRegistry(memory: memory)
        pool = ChunkPool(memory: memory)
        let registry = registry
        index = try memory.withLock { () throws(SharedMemoryError) in try registry.claim(.publisher) }
        bit = registry.bit(.publisher, index)
        history = History(memory: memory, publisher: index)
        let (memory, index) = (memory, index)
        let subscribers = 0..<memory.configuration.maxSubscribers
        queues = subscribers.map { ChunkQueue(memory, publisher: index, subscriber: $0) }
        subscriberSleeping = subscribers.map { memory.atomic32(memory.layout.subscriberPort($0) + ServiceLayout.Port.sleeping) }
        var words: [FutexWord] = []
        for subscriber in subscribers {
            words.append(try FutexWord(in: memory.region, at: memory.layout.subscriberPort(subscriber) + ServiceLayout.Port.wake))
        }
        subscriberWake = words
        let port = memory.layout.publisherPort(index)
        sleeping = memory.atomic32(port + ServiceLayout.Port.sleeping)
        wake = try FutexWord(in: memory.region, at: port + ServiceLayout.Port.wake)
        sentCount = memory.atomic64(port + ServiceLayout.Port.messages)
        tailsSeen = .allocate(capacity: subscribers.count)
        tailsSeen.initialize(repeating: 0, count: subscribers.count)
        cache = .allocate(capacity: max(memory.layout.publisherCacheCount, 1))
    }

    deinit {
        tailsSeen.deallocate()
        let (registry, index) = (registry, index)
        try? memory.withLock { () throws(SharedMemoryError) in try registry.clean(.publisher, index, change: .left) }
        cache.deallocate()
    }

    /// The largest sample: the service's `payloadByteCount`.
    public var maximumPayloadByteCount: Int { memory.configuration.payloadByteCount }

    /// A chunk of the pool to write a sample into, in place; send it with `send(_:byteCount:timeout:)`,
    /// or drop it to give it back. One loan at a time.
    ///
    /// - Throws: `.invalidArgument` while another loan of this publisher is outstanding;
    ///   `.limitExceeded` when the pool has no free chunk even after cleaning dead ports (a port
    ///   holds more than its limits); `.corrupted` when the free list breaks its rules.
    public func loan() throws(SharedMemoryError) -> LoanedSample {
        guard !loanOutstanding else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "Publisher.loan", address: memory.address.description,
                message: "this publisher already has a sample on loan",
                hint: "send or drop the loaned sample before loaning another")
        }
        var chunk = try takeChunk()
        if chunk == nil {
            try service.cleanDeadPorts()
            chunk = try takeChunk()
        }
        guard let chunk else {
            throw SharedMemoryError(
                code: .limitExceeded, operation: "Publisher.loan", address: memory.address.description,
                message: "all \(memory.layout.chunkCount) chunks of the pool are held",
                hint: "a subscriber holds more samples than its buffer, or a port of a live process does not "
                    + "let go; release samples, or detach that port")
        }
        loanOutstanding = true
        return LoanedSample(
            publisher: self, chunk: chunk,
            payload: UnsafeMutableRawBufferPointer(start: pool.payload(chunk), count: maximumPayloadByteCount))
    }

    /// A free chunk, held with this publisher's bit: from its cache, refilled in a batch when empty
    /// (without a cache, as request-response's clients: from the free list); `nil` when none is free.
    private func takeChunk() throws(SharedMemoryError) -> Int? {
        let batch = memory.layout.publisherCacheCount
        guard batch > 0 else { return try pool.take(for: bit) }
        if nextCached == cached {
            nextCached = 0
            cached = try pool.take(upTo: batch, into: cache, publisher: index)
            if cached == 0 { return nil }
        }
        let chunk = Int(cache[nextCached])
        nextCached += 1
        try pool.claim(chunk, for: bit)
        return chunk
    }

    /// A loan dropped unsent goes back to the pool.
    func giveBack(_ chunk: Int) {
        loanOutstanding = false
        pool.release(chunk, bit)
    }

    /// Sends a loaned sample to every attached subscriber: its chunk's index goes into each
    /// subscriber's queue (under the service's lock), and each subscriber that sleeps is woken
    /// (`futex(FUTEX_WAKE)`). With the `block` policy it waits for room in every queue, at most
    /// `timeout`; with `discardOldest` it takes the oldest sample out of a full queue.
    ///
    /// - Parameters:
    ///   - sample: the loan, written; consumed either way (on a timeout or an error its chunk
    ///     goes back to the pool).
    ///   - byteCount: how many of the payload's bytes the sample carries; all when `nil`.
    ///   - timeout: how long to wait for room (`block` policy); `nil` waits as long as it takes.
    ///   - strategy: how long to spin re-checking for room before sleeping in `futex(FUTEX_WAIT)`.
    /// - Returns: `false` if the timeout passed first: nothing was sent.
    /// - Throws: `.invalidSize` for a `byteCount` larger than the payload; `.corrupted` when a
    ///   queue or the free list breaks its rules; `.timedOut` if the service's lock stays held.
    @discardableResult
    public func send(
        _ sample: consuming LoanedSample, byteCount: Int? = nil, timeout: Duration? = nil,
        strategy: SpinThenWait = Publisher.defaultWaitStrategy
    ) throws(SharedMemoryError) -> Bool {
        var sample = sample
        let count = byteCount ?? maximumPayloadByteCount
        guard count >= 0, count <= maximumPayloadByteCount else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "Publisher.send", address: memory.address.description,
                message: "a \(count)-byte sample does not fit a payload of \(maximumPayloadByteCount) bytes",
                hint: "send at most payloadByteCount bytes, or create the service with a larger payload")
        }
        pool.length(sample.chunk).pointee.store(UInt32(count), ordering: .relaxed)
        guard try deliver(sample.chunk, length: UInt32(count), timeout: timeout, strategy: strategy) else { return false }
        sample.sent = true
        loanOutstanding = false
        return true
    }

    /// Copies `bytes` into a loaned chunk and sends it, as `send(_:byteCount:timeout:)` does.
    ///
    /// - Throws: as `send(_:byteCount:timeout:)`; `.truncated` if another process cut the region
    ///   short of the chunk (the copy is guarded).
    @discardableResult
    public func send(
        bytes: some Collection<UInt8>, timeout: Duration? = nil, strategy: SpinThenWait = Publisher.defaultWaitStrategy
    ) throws(SharedMemoryError) -> Bool {
        let count = bytes.count
        guard count <= maximumPayloadByteCount else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "Publisher.send", address: memory.address.description,
                message: "a \(count)-byte sample does not fit a payload of \(maximumPayloadByteCount) bytes",
                hint: "send at most payloadByteCount bytes, or create the service with a larger payload")
        }
        let sample = try loan()
        let copied = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(SharedMemoryError) in try copy(UnsafeRawBufferPointer(buffer), into: sample.payload) }
        }
        if let copied {
            try copied.get()
        } else {
            try Array(bytes).withUnsafeBytes { buffer in
                Result { () throws(SharedMemoryError) in try copy(buffer, into: sample.payload) }
            }.get()
        }
        return try send(sample, byteCount: count, timeout: timeout, strategy: strategy)
    }

    /// Sends `value`'s bytes as one sample, as `send(bytes:timeout:)` does.
    @discardableResult
    public func send<Value: BitwiseCopyable>(
        value: Value, timeout: Duration? = nil, strategy: SpinThenWait = Publisher.defaultWaitStrategy
    ) throws(SharedMemoryError) -> Bool {
        try withUnsafeBytes(of: value) { (bytes) throws(SharedMemoryError) in
            try send(bytes: bytes, timeout: timeout, strategy: strategy)
        }
    }

    private func copy(_ source: UnsafeRawBufferPointer, into chunk: UnsafeMutableRawBufferPointer) throws(SharedMemoryError) {
        guard let from = source.baseAddress, let to = chunk.baseAddress else { return }
        try GuardedCopy.copy(
            from: from, to: to, count: source.count, shared: .destination, in: memory.region, operation: "Publisher.send")
    }

    private enum Delivery {
        case delivered(subscribers: UInt64)
        case full(subscriber: Int)
    }

    /// Puts `chunk` into every attached subscriber's queue and wakes those asleep; `false` at the timeout.
    private func deliver(_ chunk: Int, length: UInt32, timeout: Duration?, strategy: SpinThenWait)
        throws(SharedMemoryError) -> Bool
    {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            let delivery = try memory.withLock { () throws(SharedMemoryError) -> Delivery in
                let subscribers = try registry.subscriberMask()
                for subscriber in Bits(subscribers) {
                    let queue = queues[subscriber]
                    guard try !queue.hasRoom(tailSeen: &tailsSeen[subscriber]) else { continue }
                    switch memory.configuration.overflowPolicy {
                    case .block:
                        return .full(subscriber: subscriber)
                    case .discardOldest:
                        if let oldest = try queue.take() { pool.release(oldest, registry.bit(.subscriber, subscriber)) }
                    }
                }
                // The chunk is this publisher's alone until the first push: its holders become every
                // receiver's bit, and this publisher's only while it keeps the chunk in its history
                // (without one, no bit to clear afterwards: one atomic operation less per sample).
                let keeps = history.capacity > 0
                pool.holders(chunk).pointee.store(subscribers | (keeps ? bit : 0), ordering: .releasing)
                for subscriber in Bits(subscribers) { queues[subscriber].append(chunk, length: length) }
                if keeps {
                    history.enter(chunk, bit: bit, pool: pool)
                } else if subscribers == 0 {
                    pool.put(chunk)
                }
                sentCount.pointee.store(sentCount.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
                return .delivered(subscribers: subscribers)
            }
            switch delivery {
            case .delivered(let subscribers):
                // After a full fence behind the entries: a subscriber that announced sleep before it
                // is seen here, or saw the head in its re-check (PublishSubscribe.pml).
                atomicMemoryFence(ordering: .sequentiallyConsistent)
                for subscriber in Bits(subscribers) {
                    ServiceMemory.wake(subscriberSleeping[subscriber], subscriberWake[subscriber])
                }
                return true
            case .full(let subscriber):
                guard try waitForRoom(subscriber, deadline: deadline, strategy: strategy) else { return false }
            }
        }
    }

    /// Waits until the queue to `subscriber` has room, the subscriber detached, or it died (then
    /// cleans it); `false` at the deadline.
    private func waitForRoom(_ subscriber: Int, deadline: ContinuousClock.Instant?, strategy: SpinThenWait)
        throws(SharedMemoryError) -> Bool
    {
        let queue = queues[subscriber]
        for _ in 0..<strategy.spins {
            if try queue.count() < queue.capacity { return true }
        }
        let clock = ContinuousClock()
        while true {
            let remaining = deadline.map { clock.now.duration(to: $0) }
            if let remaining, remaining <= .zero { return false }
            let expected = wake.load()
            sleeping.pointee.store(1, ordering: .sequentiallyConsistent)
            let room = try queue.count() < queue.capacity
            if !room {
                // In slices, to notice a subscriber that died holding its queue full.
                _ = try wake.wait(whileValueIs: expected, timeout: min(remaining ?? .milliseconds(100), .milliseconds(100)))
            }
            sleeping.pointee.store(0, ordering: .relaxed)
            if room { return true }
            if try queue.count() < queue.capacity { return true }
            guard let record = try registry.record(.subscriber, subscriber) else { return true }
            if !record.isAlive {
                try memory.withLock { () throws(SharedMemoryError) in
                    if try registry.record(.subscriber, subscriber) == record {
                        try registry.clean(.subscriber, subscriber, change: .died)
                    }
                }
                return true
            }
        }
    }
}

/// The set bits of a mask, lowest first: the subscribers a sample goes to.
struct Bits: Sequence, IteratorProtocol {
    var mask: UInt64
    init(_ mask: UInt64) { self.mask = mask }

    mutating func next() -> Int? {
        guard mask != 0 else { return nil }
        let index = mask.trailingZeroBitCount
        mask &= mask &- 1
        return index
    }
}
