// Typed views: plain values and arrays at offsets, bounds checked. The bytes need no
// alignment (unaligned loads and stores), so any layout a C struct or a file format uses works.
extension SharedRegion {
    /// The `T` stored at `offset` (copied out).
    public func load<T: BitwiseCopyable>(_ type: T.Type = T.self, at offset: Int) throws(SharedMemoryError) -> T {
        try RegionSlot.pointer(to: T.self, at: offset, in: self, aligned: false, writing: false, operation: "load")
            .loadUnaligned(as: T.self)
    }

    /// Stores `value` at `offset`.
    public func store<T: BitwiseCopyable>(_ value: T, at offset: Int) throws(SharedMemoryError) {
        try RegionSlot.pointer(to: T.self, at: offset, in: self, aligned: false, writing: true, operation: "store")
            .storeBytes(of: value, as: T.self)
    }

    /// `count` consecutive values of `T` starting at `offset` (copied out).
    public func loadArray<T: BitwiseCopyable>(of type: T.Type = T.self, at offset: Int, count: Int)
        throws(SharedMemoryError) -> [T]
    {
        let source = try RegionSlot.pointer(
            to: T.self, count: count, at: offset, in: self, aligned: false, writing: false, operation: "loadArray")
        return (0..<count).map { source.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.stride, as: T.self) }
    }

    /// Stores `values` one after the other starting at `offset`.
    public func storeArray<T: BitwiseCopyable>(_ values: [T], at offset: Int) throws(SharedMemoryError) {
        let destination = try RegionSlot.pointer(
            to: T.self, count: values.count, at: offset, in: self, aligned: false, writing: true, operation: "storeArray")
        values.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }
}
