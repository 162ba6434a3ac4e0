import Synchronization

/// What a client or a server reaches for responses, set up once when it attaches: the response
/// queues between it and each port on the other side (each with one writer, the server), those
/// ports' reply-sleep flags and wake words (to wake one that announced it sleeps), and its own
/// wait on its reply-sleep flag.
struct ResponsePath {
    let queues: [ChunkQueue]
    let otherSleeping: [UnsafeMutablePointer<Atomic<UInt32>>]
    let otherWake: [FutexWord]
    let waiting: AnnouncedWait

    /// - Parameters:
    ///   - port: this port's offset in the region.
    ///   - wake: this port's wake word.
    ///   - others: the other side's port offsets, by slot.
    ///   - queue: the offset of the response queue between this port and the other side's slot.
    init(_ memory: ServiceMemory, port: Int, wake: FutexWord, others: [Int], queue: (Int) -> Int)
        throws(SharedMemoryError)
    {
        queues = others.indices.map { ChunkQueue(memory, offset: queue($0)) }
        otherSleeping = others.map { memory.atomic32($0 + RequestResponseLayout.replySleeping) }
        var words: [FutexWord] = []
        for other in others { words.append(try FutexWord(in: memory.region, at: other + ServiceLayout.Port.wake)) }
        otherWake = words
        waiting = AnnouncedWait(sleeping: memory.atomic32(port + RequestResponseLayout.replySleeping), wake: wake)
        waiting.sleeping.pointee.store(0, ordering: .relaxed)
    }

    /// Wakes the other side's port `other` if it announced that it sleeps (after the caller's
    /// sequentially consistent push or take).
    @inline(__always)
    func wake(_ other: Int) {
        ServiceMemory.wake(otherSleeping[other], otherWake[other])
    }

    /// Whether any queue holds an entry (sequentially consistent loads, after the sleep announcement).
    func anyWaiting() throws(SharedMemoryError) -> Bool {
        for queue in queues where try queue.count() > 0 { return true }
        return false
    }
}
