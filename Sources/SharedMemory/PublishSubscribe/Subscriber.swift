import Synchronization

/// The receiving side of a publish-subscribe service: receives each sample sent after it
/// attached (and, with a history, up to `historyCapacity` earlier ones per publisher), in each
/// publisher's order, as a view into the chunk where the publisher wrote it. Use a subscriber
/// from one thread at a time; it detaches when it and its samples are released.
///
/// While samples keep coming, receiving reads a queue entry and stores the queue's tail (a
/// compare-and-swap under discard-oldest), and makes no system call; only a subscriber that finds nothing, and has spun a while, sleeps
/// (`futex(FUTEX_WAIT)`) until a publisher wakes it.
public final class Subscriber: @unchecked Sendable {
    // @unchecked: one thread at a time uses a subscriber; its samples count atomically.
    /// The service this subscriber is attached to.
    public let service: PublishSubscribeService
    /// Its slot in the service's registry: 0 up to `maxSubscribers - 1`.
    public let index: Int
    let memory: ServiceMemory
    let registry: PortRegistry
    let pool: ChunkPool
    let bit: UInt64
    let queues: [ChunkQueue]
    let publisherSleeping: [UnsafeMutablePointer<Atomic<UInt32>>]
    let publisherWake: [FutexWord]
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>
    let wake: FutexWord
    let receivedCount: UnsafeMutablePointer<Atomic<UInt64>>
    let changes: UnsafeMutablePointer<Atomic<UInt32>>
    let wakesPublishers: Bool
    /// Samples received and not yet released.
    let held = Atomic<Int>(0)
    /// The publisher whose queue is read first next time (round robin between publishers).
    var nextPublisher = 0
    /// Its place in the process's async waiter, made by the first async wait (Concurrency/).
    lazy var waitTicket = WaitTicket(WaitSource(self))

    /// How a subscriber waits by default: re-reads of its queues before it sleeps (tens of
    /// microseconds, as `SPSCRing.defaultWaitStrategy`: a busy publisher's hiccups do not put it to sleep).
    public static let defaultWaitStrategy = SpinThenWait(spins: 32768)

    /// Attaches a subscriber, taking a free slot of the registry (under the service's lock,
    /// after cleaning the ports of dead processes), and queues each publisher's history for it.
    ///
    /// - Throws: `.limitExceeded` when `maxSubscribers` live subscribers are attached; `.timedOut`
    ///   if the service's lock stays held; `.corrupted` for a port word or queue no process of
    ///   this library writes.
    public init(service: PublishSubscribeService) throws(SharedMemoryError) {
        self.service = service
        let memory = service.memory
        let registry = PortRegistry(memory: memory)
        let pool = ChunkPool(memory: memory)
        let publishers = 0..<memory.configuration.maxPublishers
        let index = try memory.withLock { () throws(SharedMemoryError) -> Int in
            let index = try registry.claim(.subscriber)
            let bit = registry.bit(.subscriber, index)
            for publisher in publishers {
                let queue = ChunkQueue(memory, publisher: publisher, subscriber: index)
                queue.discardAll()
                let publisherBit = registry.bit(.publisher, publisher)
                for chunk in History(memory: memory, publisher: publisher).chunks().suffix(Int(queue.capacity)) {
                    // A chunk in a history is held by its publisher; one that is not (a peer wrote
                    // the entry) is left alone.
                    let previous = pool.holders(chunk).pointee.bitwiseOr(bit, ordering: .acquiringAndReleasing).oldValue
                    guard previous & publisherBit != 0 else {
                        pool.release(chunk, bit)
                        continue
                    }
                    try queue.push(chunk, length: pool.length(chunk).pointee.load(ordering: .relaxed))
                }
            }
            return index
        }
        self.index = index
        self.memory = memory
        self.registry = registry
        self.pool = pool
        bit = registry.bit(.subscriber, index)
        queues = publishers.map { ChunkQueue(memory, publisher: $0, subscriber: index) }
        publisherSleeping = publishers.map { memory.atomic32(memory.layout.publisherPort($0) + ServiceLayout.Port.sleeping) }
        var words: [FutexWord] = []
        for publisher in publishers {
            words.append(try FutexWord(in: memory.region, at: memory.layout.publisherPort(publisher) + ServiceLayout.Port.wake))
        }
        publisherWake = words
        let port = memory.layout.subscriberPort(index)
        sleeping = memory.atomic32(port + ServiceLayout.Port.sleeping)
        wake = try FutexWord(in: memory.region, at: port + ServiceLayout.Port.wake)
        receivedCount = memory.atomic64(port + ServiceLayout.Port.messages)
        changes = registry.publisherChanges(index)
        wakesPublishers = memory.configuration.overflowPolicy == .block
    }

    deinit {
        let (registry, index) = (registry, index)
        try? memory.withLock { () throws(SharedMemoryError) in try registry.clean(.subscriber, index, change: .left) }
    }

    /// The next sample, in place, or `nil` if none waits now. Release it (drop it) when done; at
    /// most `subscriberBufferCapacity` may be held at once.
    ///
    /// The view points into shared memory that a misbehaving publisher could still write: copy
    /// what you must check before you trust it.
    ///
    /// - Throws: `.limitExceeded` when this subscriber already holds `subscriberBufferCapacity`
    ///   samples; `.corrupted` when a queue, an index or a length breaks its rules.
    public func receive() throws(SharedMemoryError) -> ReceivedSample? {
        guard held.load(ordering: .relaxed) < memory.configuration.subscriberBufferCapacity else {
            throw SharedMemoryError(
                code: .limitExceeded, operation: "Subscriber.receive", address: memory.address.description,
                message: "this subscriber holds \(memory.configuration.subscriberBufferCapacity) samples, its limit",
                hint: "release (drop) received samples before receiving more")
        }
        let publishers = queues.count
        for step in 0..<publishers {
            var publisher = nextPublisher &+ step
            if publisher >= publishers { publisher &-= publishers }
            // With the block policy this subscriber is its queues' only taker; with discard-oldest the
            // publisher takes too. The head is checked by the sleep's re-check, not per sample.
            guard let entry = try queues[publisher].take(soleTaker: wakesPublishers, checksHead: false) else { continue }
            let chunk = entry.chunk
            nextPublisher = publisher &+ 1 == publishers ? 0 : publisher &+ 1
            // After the tail's sequentially consistent exchange: a publisher that announced it
            // waits for room is seen here, or saw the room in its re-check.
            if wakesPublishers { ServiceMemory.wake(publisherSleeping[publisher], publisherWake[publisher]) }
            let length = entry.length
            guard length <= UInt32(memory.configuration.payloadByteCount) else {
                pool.release(chunk, bit)
                throw .corrupted(
                    "Subscriber.receive", memory.address, field: "length in the queue entry of chunk \(chunk)", value: length,
                    rule: "a sample is at most the payload's \(memory.configuration.payloadByteCount) bytes")
            }
            held.wrappingAdd(1, ordering: .relaxed)
            receivedCount.pointee.store(receivedCount.pointee.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
            return ReceivedSample(
                subscriber: self, chunk: chunk, publisher: publisher,
                bytes: UnsafeRawBufferPointer(start: pool.payload(chunk), count: Int(length)))
        }
        return nil
    }

    /// Waits for the next sample: spinning first (`strategy.spins` re-reads of the queues), then
    /// announcing that it sleeps and sleeping on its wake word (`futex(FUTEX_WAIT)`) until a
    /// publisher wakes it. `nil` if `timeout` passed first.
    ///
    /// While it sleeps it looks for ports whose processes died at least every half second, and
    /// cleans them (`PublishSubscribeService.cleanDeadPorts()`): a dead subscriber's chunks return
    /// to the pool, a dead publisher is reported.
    ///
    /// - Throws: `.peerDied` when no sample waits, no live publisher is attached and a publisher
    ///   died since the last report (`publisherChanges()` reports it too): everything the dead
    ///   publisher sent was received first. Once thrown, the death is reported; the next call
    ///   waits for a new publisher. As `receive()`; a `futex` failure other than a timeout.
    public func receive(timeout: Duration?, strategy: SpinThenWait = Subscriber.defaultWaitStrategy)
        throws(SharedMemoryError) -> ReceivedSample?
    {
        if let sample = try receive() { return sample }
        for _ in 0..<strategy.spins {
            if let sample = try receive() { return sample }
        }
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            try reportDeadPublishers()
            let remaining = deadline.map { clock.now.duration(to: $0) }
            if let remaining, remaining <= .zero { return nil }
            let expected = wake.load()
            sleeping.pointee.store(1, ordering: .sequentiallyConsistent)
            // The re-check: a sample pushed before the announcement is seen here; one pushed after
            // it finds the flag and bumps the wake word (PublishSubscribe.pml).
            var slept = FutexWord.WaitResult.valueChanged
            if try !anyWaiting() {
                slept = try wake.wait(
                    whileValueIs: expected, timeout: Swift.min(remaining ?? PortRecord.deathCheckInterval, PortRecord.deathCheckInterval))
            }
            sleeping.pointee.store(0, ordering: .relaxed)
            if let sample = try receive() { return sample }
            if slept == .timedOut { try service.cleanDeadPortsIfAny() }
        }
    }

    /// What happened among the service's publishers since the last call (or since this
    /// subscriber attached): `attached`, `left` (detached), `died` (its process was found gone and
    /// its port cleaned). An atomic exchange; no system call.
    ///
    /// - Throws: `.corrupted` for a bit no process of this library posts.
    public func publisherChanges() throws(SharedMemoryError) -> PortChanges {
        try checked(changes.pointee.exchange(0, ordering: .sequentiallyConsistent))
    }

    /// Throws `.peerDied` (and takes the death) when a publisher died and none is left attached.
    func reportDeadPublishers() throws(SharedMemoryError) {
        let posted = try checked(changes.pointee.load(ordering: .sequentiallyConsistent))
        guard posted.contains(.died), try !registry.anyPublisher() else { return }
        changes.pointee.bitwiseAnd(~PortChanges.died.rawValue, ordering: .sequentiallyConsistent)
        throw SharedMemoryError(
            code: .peerDied, operation: "Subscriber.receive", address: memory.address.description,
            message: "no publisher is attached, and one died since the last report (its process ended without "
                + "detaching); every sample it sent to this subscriber was received",
            hint: "receive again to wait for a new publisher, or stop; `publisherChanges()` reports deaths "
                + "while other publishers remain")
    }

    private func checked(_ bits: UInt32) throws(SharedMemoryError) -> PortChanges {
        guard bits & ~PortChanges.all.rawValue == 0 else {
            throw .corrupted(
                "Subscriber.receive", memory.address, field: "publisher changes of subscriber \(index)", value: bits,
                rule: "only bits 0-2 (attached, left, died) are set")
        }
        return PortChanges(rawValue: bits)
    }

    /// Waits for the next sample as `receive(timeout:strategy:)` does and copies its bytes out.
    ///
    /// - Throws: as `receive(timeout:strategy:)`; `.truncated` if another process cut the region
    ///   short of the chunk (the copy is guarded).
    public func receiveBytes(timeout: Duration?, strategy: SpinThenWait = Subscriber.defaultWaitStrategy)
        throws(SharedMemoryError) -> [UInt8]?
    {
        guard let sample = try receive(timeout: timeout, strategy: strategy) else { return nil }
        return try sample.copyBytes()
    }

    /// Waits for the next sample and loads it as a `Value`, as `receive(timeout:strategy:)` does.
    ///
    /// - Throws: as `receiveBytes(timeout:strategy:)`; `.invalidSize` when the sample's length is
    ///   not `Value`'s size.
    public func receive<Value: BitwiseCopyable>(
        _ type: Value.Type, timeout: Duration?, strategy: SpinThenWait = Subscriber.defaultWaitStrategy
    ) throws(SharedMemoryError) -> Value? {
        guard let sample = try receive(timeout: timeout, strategy: strategy) else { return nil }
        return try sample.load(as: Value.self)
    }

    /// Whether any queue holds a sample (sequentially consistent loads, after the sleep announcement).
    private func anyWaiting() throws(SharedMemoryError) -> Bool {
        for queue in queues where try queue.count() > 0 { return true }
        return false
    }

    /// A sample dropped: clear this subscriber's bit from its chunk (the last holder frees it).
    func release(_ chunk: Int) {
        held.wrappingAdd(-1, ordering: .relaxed)
        pool.release(chunk, bit)
    }
}
