#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A mapping's place, size and access, for readers that take no lock: every access to a region
/// reads them (an uncontended `Mutex` cost a 4 KiB `read` a third of its time), while only
/// `resize` and `remapped` change them, rarely, one at a time under their own lock.
///
/// A sequence lock: a change makes `sequence` odd, stores the new values and makes it even
/// again; a reader retries while it is odd or when it changed under the reader.
struct MappingSnapshot: ~Copyable, Sendable {
    private let sequence = Atomic<UInt>(0)
    private let baseAddress: Atomic<UInt>
    private let byteCount: Atomic<Int>
    private let mappedByteCount: Atomic<Int>
    private let writable: Atomic<Bool>

    init(_ mapping: SharedRegionMapping, _ access: SharedRegionAccess) {
        baseAddress = Atomic(UInt(bitPattern: mapping.baseAddress))
        byteCount = Atomic(mapping.byteCount)
        mappedByteCount = Atomic(mapping.mappedByteCount)
        writable = Atomic(access == .readWrite)
    }

    func read() -> (mapping: SharedRegionMapping, access: SharedRegionAccess) {
        while true {
            let before = sequence.load(ordering: .acquiring)
            if before & 1 == 0 {
                let base = baseAddress.load(ordering: .relaxed)
                let count = byteCount.load(ordering: .relaxed)
                let mappedCount = mappedByteCount.load(ordering: .relaxed)
                let access: SharedRegionAccess = writable.load(ordering: .relaxed) ? .readWrite : .readOnly
                atomicMemoryFence(ordering: .acquiring)
                if sequence.load(ordering: .relaxed) == before, let start = UnsafeMutableRawPointer(bitPattern: base) {
                    return (SharedRegionMapping(baseAddress: start, byteCount: count, mappedByteCount: mappedCount), access)
                }
            } else {
                sched_yield()  // a change is under way, with system calls: let it finish
            }
        }
    }

    /// Starts a change: readers wait until `endChange`. The caller holds the writers' lock.
    func beginChange() {
        sequence.add(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
    }

    /// Publishes the mapping and access after a change and lets readers go on.
    func endChange(_ mapping: SharedRegionMapping, _ access: SharedRegionAccess) {
        baseAddress.store(UInt(bitPattern: mapping.baseAddress), ordering: .relaxed)
        byteCount.store(mapping.byteCount, ordering: .relaxed)
        mappedByteCount.store(mapping.mappedByteCount, ordering: .relaxed)
        writable.store(access == .readWrite, ordering: .relaxed)
        sequence.add(1, ordering: .releasing)
    }
}
