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
    /// The copy is guarded as `read(at:count:)` is: bytes cut off by another process are
    /// `.truncated`, not `SIGBUS`.
    ///
    /// - Throws: `.outOfBounds`, `.invalidArgument` for a `T` with spare bit patterns, `.truncated`.
    public func load<T: BitwiseCopyable>(_ type: T.Type = T.self, at offset: Int) throws(SharedMemoryError) -> T {
        try TypedValue.checkEveryBitPatternIsValid(T.self, address: address, operation: "load")
        let source = try RegionSlot.pointer(to: T.self, at: offset, in: self, aligned: false, writing: false, operation: "load")
        return try withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { (value) throws(SharedMemoryError) in
            let destination = UnsafeMutableRawPointer(value.baseAddress!)
            try GuardedCopy.copy(
                from: source, to: destination, count: MemoryLayout<T>.size, shared: .source, in: self, operation: "load")
            return destination.load(as: T.self)
        }
    }

    /// Stores `value` at `offset`; guarded as `write(_:at:)` is.
    ///
    /// - Throws: `.readOnly`, `.outOfBounds`, `.truncated`.
    public func store<T: BitwiseCopyable>(_ value: T, at offset: Int) throws(SharedMemoryError) {
        let destination = try RegionSlot.pointer(to: T.self, at: offset, in: self, aligned: false, writing: true, operation: "store")
        try Swift.withUnsafeBytes(of: value) { (source) throws(SharedMemoryError) in
            try GuardedCopy.copy(
                from: source.baseAddress!, to: destination, count: MemoryLayout<T>.size, shared: .destination, in: self,
                operation: "store")
        }
    }

    /// `count` consecutive values of `T` starting at `offset` (copied out). `T` as for `load`;
    /// guarded as `read(at:count:)` is.
    ///
    /// - Throws: `.outOfBounds`, `.invalidArgument` for a `T` with spare bit patterns, `.truncated`.
    public func loadArray<T: BitwiseCopyable>(of type: T.Type = T.self, at offset: Int, count: Int)
        throws(SharedMemoryError) -> [T]
    {
        try TypedValue.checkEveryBitPatternIsValid(T.self, address: address, operation: "loadArray")
        let source = try RegionSlot.pointer(
            to: T.self, count: count, at: offset, in: self, aligned: false, writing: false, operation: "loadArray")
        var outcome: Result<Void, SharedMemoryError> = .success(())
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            outcome = Result { () throws(SharedMemoryError) in
                guard let destination = buffer.baseAddress else { return }
                try GuardedCopy.copy(
                    from: source, to: destination, count: count * MemoryLayout<T>.stride, shared: .source, in: self,
                    operation: "loadArray")
            }
            initialized = count
        }
        try outcome.get()
        return values
    }

    /// Stores `values` one after the other starting at `offset`; guarded as `write(_:at:)` is.
    ///
    /// - Throws: `.readOnly`, `.outOfBounds`, `.truncated`.
    public func storeArray<T: BitwiseCopyable>(_ values: [T], at offset: Int) throws(SharedMemoryError) {
        let destination = try RegionSlot.pointer(
            to: T.self, count: values.count, at: offset, in: self, aligned: false, writing: true, operation: "storeArray")
        try values.withUnsafeBytes { source in
            Result { () throws(SharedMemoryError) in
                guard let start = source.baseAddress else { return }
                try GuardedCopy.copy(
                    from: start, to: destination, count: source.count, shared: .destination, in: self,
                    operation: "storeArray")
            }
        }.get()
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
