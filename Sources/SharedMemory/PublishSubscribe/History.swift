import Synchronization

/// A publisher's most recent samples, kept for subscribers that attach later: a ring of
/// `historyCapacity` chunk indices and a count of samples ever entered (in the publisher's port).
/// The publisher's bit in a chunk's holders keeps it out of the pool while it is here. Read and
/// written under the service's lock only.
struct History {
    let memory: ServiceMemory
    let publisher: Int

    var capacity: Int { memory.configuration.historyCapacity }

    var count: UnsafeMutablePointer<Atomic<UInt64>> {
        memory.atomic64(memory.layout.publisherPort(publisher) + ServiceLayout.Port.historyCount)
    }

    func entry(_ position: UInt64) -> UnsafeMutablePointer<Atomic<UInt32>> {
        memory.atomic32(memory.layout.history(publisher) + Int(position % UInt64(capacity)) * 4)
    }

    /// The chunks it holds, oldest first; entries that name no chunk (a peer's writing) are skipped.
    func chunks() -> [Int] {
        guard capacity > 0 else { return [] }
        let total = count.pointee.load(ordering: .relaxed)
        let kept = min(total, UInt64(capacity))
        return (total - kept..<total).compactMap { position in
            let chunk = entry(position).pointee.load(ordering: .relaxed)
            return chunk < UInt32(memory.layout.chunkCount) ? Int(chunk) : nil
        }
    }

    /// Enters `chunk` (held with `bit`), letting the oldest go when full. Only a publisher with a
    /// history (`capacity` above 0) keeps its bit on the chunks it sends, and enters them.
    func enter(_ chunk: Int, bit: UInt64, pool: ChunkPool) {
        let total = count.pointee.load(ordering: .relaxed)
        if total >= UInt64(capacity) {
            let oldest = entry(total).pointee.load(ordering: .relaxed)
            if oldest < UInt32(memory.layout.chunkCount) { pool.release(Int(oldest), bit) }
        }
        entry(total).pointee.store(UInt32(chunk), ordering: .relaxed)
        count.pointee.store(total &+ 1, ordering: .relaxed)
    }
}
