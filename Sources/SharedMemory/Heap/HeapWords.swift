#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The heap's words, reached in place: every offset is checked against the heap's bounds
/// (taken once, when attaching, never re-read from shared memory) before it is touched, and
/// every access is atomic, so a process killed half-way leaves whole words, written in
/// program order.
struct HeapWords: @unchecked Sendable {
    // @unchecked: the pointer targets shared memory that only atomic operations touch.
    let region: any SharedRegion
    /// The heap's first byte and the byte past its last, as region offsets.
    let start: Int
    let end: Int
    /// Where region offset 0 would be: only ever added to an offset checked against the heap's bounds.
    let base: UnsafeMutableRawPointer

    init(region: any SharedRegion, start: Int, end: Int) throws(SharedMemoryError) {
        let first = try RegionSlot.pointer(
            to: UInt8.self, count: end - start, at: start, in: region, aligned: false, writing: true,
            operation: "SharedHeap")
        self.region = region
        self.start = start
        self.end = end
        base = first - start
    }

    /// Whether `offset` names a whole, aligned word of the heap.
    func contains(_ offset: Int) -> Bool {
        offset >= start && offset <= end - 8 && offset % 8 == 0
    }

    private func word(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    func load(_ offset: Int, _ operation: String) throws(SharedMemoryError) -> UInt64 {
        guard contains(offset) else { throw outside(offset, operation) }
        return word(offset).pointee.load(ordering: .acquiring)
    }

    /// An unlogged store: for the header when formatting, the log itself, and counters.
    func store(_ value: UInt64, at offset: Int, _ operation: String) throws(SharedMemoryError) {
        guard contains(offset) else { throw outside(offset, operation) }
        word(offset).pointee.store(value, ordering: .releasing)
    }

    /// `count` bytes of the heap from `offset`, for copying names and values in and out.
    func bytes(at offset: Int, count: Int, _ operation: String) throws(SharedMemoryError) -> UnsafeMutableRawBufferPointer {
        guard count >= 0, offset >= start, offset <= end, count <= end - offset else { throw outside(offset, operation) }
        return UnsafeMutableRawBufferPointer(start: base + offset, count: count)
    }

    /// Whether the heap's bytes at `offset` are those of `other`.
    func bytesEqual(at offset: Int, _ other: UnsafeRawBufferPointer, _ operation: String) throws(SharedMemoryError) -> Bool {
        let mine = try bytes(at: offset, count: other.count, operation)
        guard let theirs = other.baseAddress, let here = mine.baseAddress else { return true }
        return memcmp(here, theirs, other.count) == 0
    }

    private func outside(_ offset: Int, _ operation: String) -> SharedMemoryError {
        .corrupted(
            operation, region.address, field: "an offset read from the heap", value: offset,
            rule: "heap words lie at multiples of 8 from \(start) to \(end - 8)")
    }
}
