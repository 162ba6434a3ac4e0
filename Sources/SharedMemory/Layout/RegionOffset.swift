/// A pointer that stays valid across processes: the offset of a `Pointee` from the start of
/// the region. Each process maps a region at its own address, so raw pointers stored in it
/// mean nothing to the others; offsets mean the same to all. It is itself `BitwiseCopyable`,
/// so it can be stored in the region (linked lists, trees, free lists inside shared memory).
public struct RegionOffset<Pointee: BitwiseCopyable>: BitwiseCopyable, Hashable, Sendable {
    /// Bytes from the start of the region; fixed at 64 bits so every process reads the same layout.
    public var byteOffset: Int64

    /// The offset `byteOffset` bytes from the start of the region; checked only when used.
    public init(byteOffset: Int) {
        self.byteOffset = Int64(byteOffset)
    }

    /// The offset `count` values further on.
    ///
    /// `byteOffset` may come from shared memory, where another process can write any value:
    /// an offset that would overflow becomes `Int64.max` or `Int64.min`, which every access
    /// refuses as `.outOfBounds`, instead of trapping here.
    public func advanced(by count: Int) -> RegionOffset {
        let (distance, productOverflow) = Int64(count).multipliedReportingOverflow(by: Int64(MemoryLayout<Pointee>.stride))
        let (sum, sumOverflow) = byteOffset.addingReportingOverflow(distance)
        var result = self
        result.byteOffset = productOverflow || sumOverflow ? (count < 0 ? .min : .max) : sum
        return result
    }

    /// The value this offset points at in `region`.
    public func load(from region: some SharedRegion) throws(SharedMemoryError) -> Pointee {
        try region.load(Pointee.self, at: Int(byteOffset))
    }

    /// Stores `value` where this offset points in `region`.
    public func store(_ value: Pointee, in region: some SharedRegion) throws(SharedMemoryError) {
        try region.store(value, at: Int(byteOffset))
    }

    /// A pointer for this process, bounds and alignment checked; valid while `region` is mapped.
    public func pointer(in region: some SharedRegion) throws(SharedMemoryError) -> UnsafeMutablePointer<Pointee> {
        try RegionSlot.pointer(
            to: Pointee.self, at: Int(byteOffset), in: region, aligned: true, writing: false, operation: "RegionOffset")
            .assumingMemoryBound(to: Pointee.self)
    }
}
