// Typed views: plain values and arrays at offsets, bounds checked. The bytes need no
// alignment (unaligned loads and stores), so any layout a C struct or a file format uses works.
extension SharedRegion {
    /// The `T` stored at `offset` (copied out).
    ///
    /// `T` must be a type for which every bit pattern is a value (integers, floating point,
    /// `RegionOffset`, and structs or tuples of them): another process may have written any
    /// bytes there. Types that Swift's layout shows to have spare bit patterns (`Bool`, enums,
    /// structs holding them) are refused; an enum with payloads is not always detected, so do not
    /// load one. Load such a value's raw integer and convert it with a check (`init(rawValue:)`).
    ///
    /// - Throws: `.outOfBounds`, `.invalidArgument` for a `T` with spare bit patterns.
    public func load<T: BitwiseCopyable>(_ type: T.Type = T.self, at offset: Int) throws(SharedMemoryError) -> T {
        try TypedValue.checkEveryBitPatternIsValid(T.self, address: address, operation: "load")
        return try RegionSlot.pointer(to: T.self, at: offset, in: self, aligned: false, writing: false, operation: "load")
            .loadUnaligned(as: T.self)
    }

    /// Stores `value` at `offset`.
    public func store<T: BitwiseCopyable>(_ value: T, at offset: Int) throws(SharedMemoryError) {
        try RegionSlot.pointer(to: T.self, at: offset, in: self, aligned: false, writing: true, operation: "store")
            .storeBytes(of: value, as: T.self)
    }

    /// `count` consecutive values of `T` starting at `offset` (copied out). `T` as for `load`.
    public func loadArray<T: BitwiseCopyable>(of type: T.Type = T.self, at offset: Int, count: Int)
        throws(SharedMemoryError) -> [T]
    {
        try TypedValue.checkEveryBitPatternIsValid(T.self, address: address, operation: "loadArray")
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

/// What may be read out of shared memory as a typed value.
enum TypedValue {
    /// Bytes a peer wrote must not become a value Swift assumes cannot exist: a `Bool` of 2 or
    /// an enum case number past the last makes a `switch` jump anywhere. Swift uses a type's
    /// spare bit patterns for `Optional`'s `nil`, so a `T?` no larger than `T` shows them.
    static func checkEveryBitPatternIsValid<T>(
        _ type: T.Type, address: RegionAddress, operation: String
    ) throws(SharedMemoryError) {
        guard MemoryLayout<T?>.size != MemoryLayout<T>.size else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: operation, address: address.description,
                message: "\(T.self) has bit patterns that are no \(T.self), and another process may have written any bytes",
                hint: "load the raw integer it is made of (UInt8 for a Bool, the RawValue of an enum) and convert it "
                    + "with a check, such as init(rawValue:)")
        }
    }
}
