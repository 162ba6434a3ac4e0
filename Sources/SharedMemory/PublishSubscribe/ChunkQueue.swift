import Synchronization

/// The queue of chunk indices from one publisher to one subscriber: a bounded ring with one
/// writer (whoever holds the service's lock: the publisher delivering, or a subscriber attaching
/// and copying history in) and one or two takers (the subscriber; under discard-oldest also the
/// publisher, when two take each moves the tail with a compare-and-swap, so each entry is taken
/// exactly once). Each side keeps the other's position as it last read it and reads it again only
/// when the queue looks full (the writer) or empty (the reader), as `SPSCRing` does.
///
/// Head and tail count entries ever written and taken (u64, each on its own cache line); the
/// entries are chunk indices (u32). Every value read is checked: the tail never passes the head,
/// the head is never more than the capacity ahead, an index names a chunk of the pool.
struct ChunkQueue {
    // Pointers and integers only, so that taking a queue out of a port's array per message costs
    // no reference counting; the port that holds the queue keeps the region mapped.
    let head: UnsafeMutablePointer<Atomic<UInt64>>
    let tail: UnsafeMutablePointer<Atomic<UInt64>>
    let slots: UnsafeMutablePointer<Atomic<UInt32>>
    let capacity: UInt64
    let chunkCount: UInt32
    unowned(unsafe) let region: any SharedRegion

    init(_ memory: ServiceMemory, publisher: Int, subscriber: Int) {
        self.init(memory, offset: memory.layout.queue(publisher: publisher, subscriber: subscriber))
    }

    /// A queue of the layout's shape (`queueStride` bytes) at `offset`, outside the layout's queues.
    init(_ memory: ServiceMemory, offset: Int) {
        head = memory.atomic64(offset + ServiceLayout.Queue.head)
        tail = memory.atomic64(offset + ServiceLayout.Queue.tail)
        slots = memory.atomic32(offset + ServiceLayout.queueSlotsOffset)
        capacity = UInt64(memory.configuration.subscriberBufferCapacity)
        chunkCount = UInt32(memory.layout.chunkCount)
        region = memory.region
    }

    @inline(__always)
    func slot(_ position: UInt64) -> UnsafeMutablePointer<Atomic<UInt32>> {
        slots + Int(truncatingIfNeeded: position % capacity)
    }

    /// Entries waiting (sequentially consistent loads: the sleep check pairs them with the flag).
    func count() throws(SharedMemoryError) -> UInt64 {
        let tail = tail.pointee.load(ordering: .sequentiallyConsistent)
        let head = head.pointee.load(ordering: .sequentiallyConsistent)
        guard head &- tail <= capacity else { throw corrupted(head: head, tail: tail) }
        return head &- tail
    }

    /// Appends `chunk` (the lock holder only, after checking there is room), then publishes it
    /// with a sequentially consistent store: the sleep flag the writer reads next is ordered after it.
    func push(_ chunk: Int) throws(SharedMemoryError) {
        let head = head.pointee.load(ordering: .relaxed)
        let tail = tail.pointee.load(ordering: .acquiring)
        guard head &- tail < capacity else { throw corrupted(head: head, tail: tail) }
        slot(head).pointee.store(UInt32(truncatingIfNeeded: chunk), ordering: .relaxed)
        self.head.pointee.store(head &+ 1, ordering: .sequentiallyConsistent)
    }

    /// Takes the oldest entry; `nil` when empty.
    ///
    /// - Throws: `.corrupted` if head and tail break the queue's rules, or the entry names no chunk.
    @inline(__always)
    func take() throws(SharedMemoryError) -> Int? {
        var headSeen: UInt64 = 0
        return try take(headSeen: &headSeen, soleTaker: false)
    }

    /// Whether the writer may append: `tailSeen` is the tail it read last (never ahead of the real
    /// one, which only moves forward), reloaded only when the queue looks full, so that a writer
    /// ahead of its reader does not pull the reader's cache line over per entry.
    ///
    /// - Throws: `.corrupted` if head and tail break the queue's rules.
    @inline(__always)
    func hasRoom(tailSeen: inout UInt64) throws(SharedMemoryError) -> Bool {
        let head = head.pointee.load(ordering: .relaxed)
        if head &- tailSeen < capacity { return true }
        tailSeen = tail.pointee.load(ordering: .sequentiallyConsistent)
        guard head &- tailSeen <= capacity else { throw corrupted(head: head, tail: tailSeen) }
        return head &- tailSeen < capacity
    }

    /// Appends `chunk` after `hasRoom(tailSeen:)` said yes, under the same holding of the lock;
    /// publishes it as `push(_:)` does.
    @inline(__always)
    func append(_ chunk: Int) {
        let head = head.pointee.load(ordering: .relaxed)
        slot(head).pointee.store(UInt32(truncatingIfNeeded: chunk), ordering: .relaxed)
        self.head.pointee.store(head &+ 1, ordering: .sequentiallyConsistent)
    }

    /// Takes the oldest entry; `nil` when empty. `headSeen` is the head the reader read last,
    /// reloaded only when the queue looks empty (the reader behind its writer then reads a run of
    /// entries without pulling the writer's line over per entry). The sole taker (the `block`
    /// policy: nobody else moves the tail) moves the tail with a store; otherwise with a
    /// compare-and-swap, so each entry is taken once. Either is sequentially consistent: the
    /// writer's sleep flag, read next, is ordered after it.
    ///
    /// - Throws: `.corrupted` if head and tail break the queue's rules, or the entry names no chunk.
    @inline(__always)
    func take(headSeen: inout UInt64, soleTaker: Bool) throws(SharedMemoryError) -> Int? {
        while true {
            let tail = tail.pointee.load(ordering: .acquiring)
            if headSeen == tail || headSeen &- tail > capacity {
                headSeen = head.pointee.load(ordering: .acquiring)
                guard headSeen &- tail <= capacity else { throw corrupted(head: headSeen, tail: tail) }
                if headSeen == tail { return nil }
            }
            // Read before the tail moves: the writer reuses the slot only after that.
            let chunk = slot(tail).pointee.load(ordering: .relaxed)
            if soleTaker {
                self.tail.pointee.store(tail &+ 1, ordering: .sequentiallyConsistent)
            } else if !self.tail.pointee.compareExchange(
                expected: tail, desired: tail &+ 1, ordering: .sequentiallyConsistent
            ).exchanged {
                continue
            }
            guard chunk < chunkCount else {
                throw .corrupted(
                    "Subscriber.receive", region.address, field: "queue entry \(tail)", value: chunk,
                    rule: "a chunk index is below \(chunkCount)")
            }
            return Int(chunk)
        }
    }

    /// Empties the queue without taking the entries one by one (cleaning a departed subscriber,
    /// whose bit is then cleared from every chunk).
    func discardAll() {
        tail.pointee.store(head.pointee.load(ordering: .acquiring), ordering: .releasing)
    }

    func corrupted(head: UInt64, tail: UInt64) -> SharedMemoryError {
        .corrupted(
            "PublishSubscribeService.queue", region.address, field: "queue head", value: head,
            rule: "it must be from 0 to \(capacity) entries ahead of the tail (\(tail))")
    }
}
