import Synchronization

/// Which ports are attached, by whom, and the cleaning up after those that left or died. Every
/// change happens under the service's lock; delivering reads the subscriber slots under it too,
/// so a port is never cleaned while a publisher delivers to it.
struct PortRegistry {
    let memory: ServiceMemory
    var pool: ChunkPool { ChunkPool(memory: memory) }

    enum Kind: Sendable {
        case publisher, subscriber

        var name: String { self == .publisher ? "publisher" : "subscriber" }
    }

    func portOffset(_ kind: Kind, _ index: Int) -> Int {
        kind == .publisher ? memory.layout.publisherPort(index) : memory.layout.subscriberPort(index)
    }

    func word(_ kind: Kind, _ index: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        memory.atomic64(portOffset(kind, index) + ServiceLayout.Port.word)
    }

    func slotCount(_ kind: Kind) -> Int {
        kind == .publisher ? memory.configuration.maxPublishers : memory.configuration.maxSubscribers
    }

    /// The port's bit in every chunk's holders word.
    func bit(_ kind: Kind, _ index: Int) -> UInt64 {
        kind == .subscriber ? 1 << UInt64(index) : 1 << UInt64(memory.configuration.maxSubscribers + index)
    }

    /// Who holds a slot; `nil` when free.
    func record(_ kind: Kind, _ index: Int) throws(SharedMemoryError) -> PortRecord? {
        try PortRecord(
            word: word(kind, index).pointee.load(ordering: .acquiring), address: memory.address,
            field: "\(kind.name) port \(index)")
    }

    /// The attached subscribers, one bit each (the lock holder's view).
    func subscriberMask() throws(SharedMemoryError) -> UInt64 {
        var mask: UInt64 = 0
        for index in 0..<memory.configuration.maxSubscribers where try record(.subscriber, index) != nil {
            mask |= 1 << UInt64(index)
        }
        return mask
    }

    /// Claims a free slot for this process (the caller holds the lock), cleaning dead ports first.
    ///
    /// - Throws: `.limitExceeded` when every slot is held by a live process.
    func claim(_ kind: Kind) throws(SharedMemoryError) -> Int {
        _ = try cleanDeadPorts()
        for index in 0..<slotCount(kind) where try record(kind, index) == nil {
            switch kind {
            case .subscriber: publisherChanges(index).pointee.store(0, ordering: .relaxed)
            case .publisher: try post(.attached)
            }
            word(kind, index).pointee.store(PortRecord(ProcessIdentity.current).word, ordering: .releasing)
            return index
        }
        throw SharedMemoryError(
            code: .limitExceeded, operation: "PublishSubscribeService.attach", address: memory.address.description,
            message: "all \(slotCount(kind)) \(kind.name) ports are attached by live processes",
            hint: "detach a \(kind.name), or create the service with more \(kind.name)s")
    }

    /// Cleans every port whose process is gone (the caller holds the lock); how many.
    func cleanDeadPorts() throws(SharedMemoryError) -> Int {
        var cleaned = 0
        for kind in [Kind.subscriber, .publisher] {
            for index in 0..<slotCount(kind) {
                guard let record = try record(kind, index), !record.isAlive else { continue }
                try clean(kind, index, change: .died)
                cleaned += 1
            }
        }
        return cleaned
    }

    /// Whether a port's process is gone (atomic loads and `/proc`, no lock): what a sleeping
    /// port looks at between slices of its sleep before it takes the lock to clean.
    func anyDeadPort() throws(SharedMemoryError) -> Bool {
        for kind in [Kind.subscriber, .publisher] {
            for index in 0..<slotCount(kind) {
                if let record = try record(kind, index), !record.isAlive { return true }
            }
        }
        return false
    }

    /// Whether any publisher is attached (atomic loads only: a dead one counts until it is cleaned).
    func anyPublisher() throws(SharedMemoryError) -> Bool {
        for index in 0..<slotCount(.publisher) where try record(.publisher, index) != nil { return true }
        return false
    }

    /// The changes among publishers posted to subscriber `index`.
    func publisherChanges(_ index: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        memory.atomic32(memory.layout.subscriberPort(index) + ServiceLayout.Port.publisherChanges)
    }

    /// Posts a change among publishers to every attached subscriber (the caller holds the lock);
    /// a death also wakes those asleep, so that a subscriber waiting for samples learns of it.
    func post(_ change: PortChanges) throws(SharedMemoryError) {
        for subscriber in 0..<slotCount(.subscriber) where try record(.subscriber, subscriber) != nil {
            publisherChanges(subscriber).pointee.bitwiseOr(change.rawValue, ordering: .sequentiallyConsistent)
            guard change.contains(.died) else { continue }
            let port = memory.layout.subscriberPort(subscriber)
            let wake = memory.atomic32(port + ServiceLayout.Port.wake)
            wake.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
            _ = FutexCall.wake(UnsafeMutableRawPointer(wake).assumingMemoryBound(to: UInt32.self), count: .max)
        }
    }

    /// Frees a slot and every chunk only it held (the caller holds the lock). A subscriber's
    /// queues are emptied and its bit cleared from every chunk: what it held and what waited for
    /// it. A publisher's bit is cleared from every chunk but those in its history, which stays
    /// for the next publisher in the slot, and the chunks in its cache go back to the free list;
    /// what it delivered stays readable by the subscribers,
    /// which are told it left or died (`change`).
    func clean(_ kind: Kind, _ index: Int, change: PortChanges) throws(SharedMemoryError) {
        let bit = bit(kind, index)
        var kept: Set<Int> = []
        switch kind {
        case .subscriber:
            for publisher in 0..<memory.configuration.maxPublishers {
                ChunkQueue(memory, publisher: publisher, subscriber: index).discardAll()
            }
        case .publisher:
            kept = Set(History(memory: memory, publisher: index).chunks())
        }
        let mark = ChunkPool.cacheMark(index)
        for chunk in 0..<memory.layout.chunkCount where !kept.contains(chunk) {
            let holders = pool.holders(chunk).pointee.load(ordering: .relaxed)
            if holders & bit != 0 {
                pool.release(chunk, bit)
            } else if kind == .publisher && holders == 0 && pool.next(chunk).pointee.load(ordering: .relaxed) == mark {
                // In its cache: free, and off the free list.
                pool.put(chunk)
            }
        }
        let port = portOffset(kind, index)
        memory.atomic32(port + ServiceLayout.Port.sleeping).pointee.store(0, ordering: .relaxed)
        word(kind, index).pointee.store(0, ordering: .releasing)
        if kind == .publisher { try post(change) }
    }
}
