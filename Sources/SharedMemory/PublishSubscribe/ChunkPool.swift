import Synchronization

/// The pool of payload chunks: a free list and, per chunk, its holders.
///
/// A chunk's holders word has one bit per port (subscriber `s` is bit `s`, publisher `p` is bit
/// `maxSubscribers + p`): a publisher's bit while it writes the chunk or keeps it in its history,
/// a subscriber's bit from the delivery until it releases the sample. Releasing clears bits with
/// one atomic AND; whoever clears the last returns the chunk to the free list. Bits rather than a
/// count make cleaning up after a dead port exact: clear its bit on every chunk, whether the
/// chunk still waited in its queue or was in its hands when it died.
///
/// The free list is a stack whose head word holds a tag (bits 32–63, bumped by every change, so
/// a head that was popped and pushed back between a read and a compare-and-swap is not taken for
/// unchanged) and the top chunk's index (bits 0–31, `UInt32.max` when empty); each free chunk's
/// record holds the next index. A publisher takes free chunks in batches into a cache of its own
/// (`take(upTo:into:publisher:)`), so the head's line crosses to it once per batch, not per
/// sample; a cached chunk has no holders (it is free) and its next word holds the publisher's
/// cache mark, by which cleaning up after the publisher finds it. `PublishSubscribe.pml` and
/// `ChunkPool.pml` model it.
struct ChunkPool {
    let memory: ServiceMemory
    static let empty = UInt32.max

    var head: UnsafeMutablePointer<Atomic<UInt64>> { memory.atomic64(memory.layout.poolHeadOffset) }

    @inline(__always)
    func holders(_ chunk: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        memory.atomic64(memory.layout.chunkRecord(chunk) + ServiceLayout.ChunkRecord.holders)
    }

    @inline(__always)
    func length(_ chunk: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        memory.atomic32(memory.layout.chunkRecord(chunk) + ServiceLayout.ChunkRecord.length)
    }

    @inline(__always)
    func next(_ chunk: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        memory.atomic32(memory.layout.chunkRecord(chunk) + ServiceLayout.ChunkRecord.next)
    }

    @inline(__always)
    func payload(_ chunk: Int) -> UnsafeMutableRawPointer { memory.base + memory.layout.payload(chunk) }

    /// Every chunk free, in order (the initializer's step; the region is zeroed).
    func initialize() {
        let count = memory.layout.chunkCount
        for chunk in 0..<count {
            next(chunk).pointee.store(chunk + 1 < count ? UInt32(chunk + 1) : Self.empty, ordering: .relaxed)
        }
        head.pointee.store(0, ordering: .releasing)
    }

    /// Takes a free chunk and marks it held by `holder` (a port's bit); `nil` when none is free.
    ///
    /// - Throws: `.corrupted` when the free list names a chunk outside the pool, or one that
    ///   still has holders.
    func take(for holder: UInt64) throws(SharedMemoryError) -> Int? {
        let count = UInt32(memory.layout.chunkCount)
        while true {
            let word = head.pointee.load(ordering: .acquiring)
            let top = UInt32(truncatingIfNeeded: word)
            if top == Self.empty { return nil }
            guard top < count else { throw corrupted("free list head", top) }
            let below = next(Int(top)).pointee.load(ordering: .relaxed)
            let tag = (word >> 32) &+ 1
            // The tag makes the exchange fail if anyone took or returned a chunk since the load, so
            // `below` (read from a record that may since have changed) is only used if it was current.
            guard
                head.pointee.compareExchange(
                    expected: word, desired: tag << 32 | UInt64(below), ordering: .acquiringAndReleasing
                ).exchanged
            else { continue }
            guard below == Self.empty || below < count else { throw corrupted("next free chunk of chunk \(top)", below) }
            let previous = holders(Int(top)).pointee.exchange(holder, ordering: .acquiringAndReleasing)
            guard previous == 0 else { throw corrupted("holders of free chunk \(top)", previous) }
            return Int(top)
        }
    }

    /// The next word of a chunk in publisher `publisher`'s cache: above every chunk index (the
    /// configuration's limits keep the pool below 2^28 chunks), below `empty`.
    static func cacheMark(_ publisher: Int) -> UInt32 { empty - 1 - UInt32(truncatingIfNeeded: publisher) }

    /// Takes up to `count` free chunks with one compare-and-swap of the head (the top of the free
    /// list and the chunks its links name) into `cache`, marks each as in `publisher`'s cache and
    /// checks it has no holders; how many, 0 when none is free.
    ///
    /// - Throws: `.corrupted` when the free list names a chunk outside the pool, or one that still
    ///   has holders (the batch's chunks stay marked: cleaning the publisher returns them).
    func take(upTo count: Int, into cache: UnsafeMutablePointer<UInt32>, publisher: Int) throws(SharedMemoryError) -> Int {
        let chunks = UInt32(memory.layout.chunkCount)
        while true {
            let word = head.pointee.load(ordering: .acquiring)
            var below = UInt32(truncatingIfNeeded: word)
            var taken = 0
            var broken = false
            while taken < count && below != Self.empty {
                guard below < chunks else {
                    broken = true
                    break
                }
                cache[taken] = below
                taken += 1
                below = next(Int(below)).pointee.load(ordering: .relaxed)
            }
            if broken {
                // A link read from a chunk another port took meanwhile names anything: only an unmoved
                // head makes it the list's.
                if head.pointee.load(ordering: .acquiring) != word { continue }
                throw corrupted(taken == 0 ? "free list head" : "next free chunk of chunk \(cache[taken - 1])", below)
            }
            if taken == 0 { return 0 }
            // The tag makes the exchange fail if anyone took or returned a chunk since the load: the
            // links walked were then the list's.
            guard
                head.pointee.compareExchange(
                    expected: word, desired: ((word >> 32) &+ 1) << 32 | UInt64(below), ordering: .acquiringAndReleasing
                ).exchanged
            else { continue }
            for index in 0..<taken { next(Int(cache[index])).pointee.store(Self.cacheMark(publisher), ordering: .relaxed) }
            for index in 0..<taken {
                let held = holders(Int(cache[index])).pointee.load(ordering: .acquiring)
                guard held == 0 else { throw corrupted("holders of free chunk \(cache[index])", held) }
            }
            return taken
        }
    }

    /// Takes a chunk out of a publisher's cache for `holder`: its mark cleared, then its holders set.
    ///
    /// - Throws: `.corrupted` when the chunk has holders.
    func claim(_ chunk: Int, for holder: UInt64) throws(SharedMemoryError) {
        next(chunk).pointee.store(Self.empty, ordering: .relaxed)
        let previous = holders(chunk).pointee.exchange(holder, ordering: .acquiringAndReleasing)
        guard previous == 0 else { throw corrupted("holders of free chunk \(chunk)", previous) }
    }

    /// Puts a chunk nobody holds back on the free list.
    func put(_ chunk: Int) {
        while true {
            let word = head.pointee.load(ordering: .relaxed)
            next(chunk).pointee.store(UInt32(truncatingIfNeeded: word), ordering: .relaxed)
            let tag = (word >> 32) &+ 1
            // Releasing: the chunk's last reader is done with it before the next writer takes it.
            if head.pointee.compareExchange(
                expected: word, desired: tag << 32 | UInt64(chunk), ordering: .acquiringAndReleasing
            ).exchanged { return }
        }
    }

    /// Clears `bits` (a port's) from a chunk's holders; the chunk goes back to the free list when
    /// they were its last. Clearing bits already clear (a port cleaned while it held the chunk)
    /// changes nothing, so a chunk is never freed twice.
    func release(_ chunk: Int, _ bits: UInt64) {
        let previous = holders(chunk).pointee.bitwiseAnd(~bits, ordering: .acquiringAndReleasing).oldValue
        if previous & bits != 0 && previous & ~bits == 0 { put(chunk) }
    }

    /// How many chunks nobody holds (for statistics: a snapshot while ports work).
    func freeCount() -> Int {
        (0..<memory.layout.chunkCount).reduce(0) { count, chunk in
            count + (holders(chunk).pointee.load(ordering: .relaxed) == 0 ? 1 : 0)
        }
    }

    func corrupted(_ field: String, _ value: some BinaryInteger) -> SharedMemoryError {
        .corrupted(
            "PublishSubscribeService.pool", memory.address, field: field, value: value,
            rule: "a chunk index is below \(memory.layout.chunkCount), and a free chunk has no holders")
    }
}
