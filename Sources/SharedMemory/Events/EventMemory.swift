import Synchronization

/// An event service's region as this process maps it: one pointer to its start, checked once
/// against the layout's size, and typed views of the parts at offsets the layout computed.
/// Nothing here reads an offset or a pointer from the region.
struct EventMemory: @unchecked Sendable {
    // @unchecked: pointers into shared memory, touched only through atomics.
    let region: any SharedRegion
    let layout: EventLayout
    let base: UnsafeMutableRawPointer

    init(region: any SharedRegion, layout: EventLayout) throws(SharedMemoryError) {
        self.region = region
        self.layout = layout
        base = try RegionSlot.pointer(
            to: UInt8.self, count: layout.totalByteCount, at: 0, in: region, aligned: false, writing: true,
            operation: "EventService")
    }

    var address: RegionAddress { region.address }
    var configuration: EventConfiguration { layout.configuration }

    @inline(__always)
    func atomic64(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    @inline(__always)
    func atomic32(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// The listener in slot `index`: its flags, its wake word and its set of fired ids.
    func listener(_ index: Int) throws(SharedMemoryError) -> ListenerSlot {
        try ListenerSlot(memory: self, index: index)
    }
}
