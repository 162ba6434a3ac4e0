import Synchronization

/// The queue of chunk indices from one publisher to one subscriber: a bounded ring with one
/// writer (whoever holds the service's lock: the publisher delivering, or a subscriber attaching
/// and copying history in) and one or two takers (the subscriber; under discard-oldest also the
/// publisher, and when two take, each moves the tail with a compare-and-swap, so each entry is
/// taken exactly once).
///
/// Head and tail count entries ever written and taken (u64, each on its own cache line). An entry
/// (16 bytes) holds a chunk's index, the sample's length and a mark, its position + 1 (u32 each).
/// The writer moves the head, then marks the entry: a taker finds the entry at the tail by its
/// mark, without reading the head, and the length without the chunk's record, so a hand-over
/// moves one line to the subscriber; and the tail never passes the head for whoever reads both.
/// The writer reads the tail again only when the queue looks full, as `SPSCRing` does. Every
/// value read is checked: the tail never passes the head, the head is never more than the
/// capacity ahead, an index names a chunk of the pool (a sample's length is the subscriber's to check).
struct ChunkQueue {
    // Pointers and integers only, so that taking a queue out of a port's array per message costs
    // no reference counting; the port that holds the queue keeps the region mapped.
    let head: UnsafeMutablePointer<Atomic<UInt64>>
    let tail: UnsafeMutablePointer<Atomic<UInt64>>
    let entries: UnsafeMutableRawPointer
    let capacity: UInt64
    let chunkCount: UInt32
    unowned(unsafe) let region: any SharedRegion

    /// What an entry carries.
    struct Entry {
        var chunk: Int
        var length: UInt32
    }

    init(_ memory: ServiceMemory, publisher: Int, subscriber: Int) {
        self.init(memory, offset: memory.layout.queue(publisher: publisher, subscriber: subscriber))
    }

    /// A queue of the layout's shape (`queueStride` bytes) at `offset`, outside the layout's queues.
    init(_ memory: ServiceMemory, offset: Int) {
        head = memory.atomic64(offset + ServiceLayout.Queue.head)
        tail = memory.atomic64(offset + ServiceLayout.Queue.tail)
        entries = memory.base + offset + ServiceLayout.queueSlotsOffset
        capacity = UInt64(memory.configuration.subscriberBufferCapacity)
        chunkCount = UInt32(memory.layout.chunkCount)
        region = memory.region
    }

    @inline(__always)
    func field(_ position: UInt64, _ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (entries + Int(truncatingIfNeeded: position % capacity) * ServiceLayout.QueueEntry.stride + offset)
            .assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The mark of the entry at `position`: its position + 1, truncated.
    @inline(__always)
    static func mark(_ position: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: position &+ 1) }

    /// Entries waiting (sequentially consistent loads: the sleep check pairs them with the flag).
    func count() throws(SharedMemoryError) -> UInt64 {
        let tail = tail.pointee.load(ordering: .sequentiallyConsistent)
        let head = head.pointee.load(ordering: .sequentiallyConsistent)
        guard head &- tail <= capacity else { throw corrupted(head: head, tail: tail) }
        return head &- tail
    }

    /// Appends `chunk` (the lock holder only, after checking there is room) as `append` does, then
    /// a full fence: the sleep flag the writer reads next is ordered after the entry.
    func push(_ chunk: Int, length: UInt32 = 0) throws(SharedMemoryError) {
        let head = head.pointee.load(ordering: .relaxed)
        let tail = tail.pointee.load(ordering: .acquiring)
        guard head &- tail < capacity else { throw corrupted(head: head, tail: tail) }
        append(chunk, length: length)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
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

    /// Appends `chunk` after `hasRoom(tailSeen:)` said yes, under the same holding of the lock: the
    /// entry's fields, the head, then the mark (release stores: a taker that sees the mark sees
    /// the fields and the head). The caller fences before it reads a sleep flag.
    @inline(__always)
    func append(_ chunk: Int, length: UInt32) {
        let head = head.pointee.load(ordering: .relaxed)
        field(head, ServiceLayout.QueueEntry.chunk).pointee.store(UInt32(truncatingIfNeeded: chunk), ordering: .relaxed)
        field(head, ServiceLayout.QueueEntry.length).pointee.store(length, ordering: .relaxed)
        self.head.pointee.store(head &+ 1, ordering: .releasing)
        field(head, ServiceLayout.QueueEntry.mark).pointee.store(Self.mark(head), ordering: .releasing)
    }

    /// Takes the oldest entry's chunk; `nil` when empty. Finding none, it checks the head.
    ///
    /// - Throws: `.corrupted` if head and tail break the queue's rules, or the entry names no chunk.
    @inline(__always)
    func take() throws(SharedMemoryError) -> Int? {
        try take(soleTaker: false, checksHead: true)?.chunk
    }

    /// Takes the oldest entry; `nil` when the entry at the tail is not marked yet. Without
    /// `checksHead` it reads no position but the tail, its own (a subscriber polling then leaves
    /// the head's line to the publisher; its sleep re-check, `count()`, checks the head). The sole
    /// taker (the `block` policy: nobody else moves the tail) moves the tail with a store;
    /// otherwise with a compare-and-swap, so each entry is taken once. Either is sequentially
    /// consistent: the writer's sleep flag, read next, is ordered after it.
    ///
    /// - Throws: `.corrupted` if the entry names no chunk, or (`checksHead`) head and tail break
    ///   the queue's rules.
    @inline(__always)
    func take(soleTaker: Bool, checksHead: Bool) throws(SharedMemoryError) -> Entry? {
        while true {
            let tail = tail.pointee.load(ordering: .acquiring)
            guard field(tail, ServiceLayout.QueueEntry.mark).pointee.load(ordering: .acquiring) == Self.mark(tail) else {
                // Another taker moved the tail, and the writer reused the entry, since the load: again.
                if !soleTaker && self.tail.pointee.load(ordering: .acquiring) != tail { continue }
                if checksHead { _ = try count() }
                return nil
            }
            let chunk = field(tail, ServiceLayout.QueueEntry.chunk).pointee.load(ordering: .relaxed)
            let length = field(tail, ServiceLayout.QueueEntry.length).pointee.load(ordering: .relaxed)
            // Read before the tail moves: the writer reuses the entry only after that.
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
            return Entry(chunk: Int(chunk), length: length)
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
