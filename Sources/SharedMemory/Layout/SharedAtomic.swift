import Synchronization

/// An atomic value at an offset inside a region: Synchronization's `Atomic` reached through
/// a pointer into the shared mapping, so every process that maps the region sees one value.
///
/// ```swift
/// let counter = try SharedAtomic<Int>(in: region, at: 64)
/// counter.withAtomic { $0.wrappingAdd(1, ordering: .relaxed) }
/// ```
///
/// The offset must be aligned for `Value` (checked). Orderings are explicit, as with
/// `Atomic`: `.relaxed` for counters, `.acquiring` / `.releasing` to publish data. The
/// atomic keeps the region mapped while it lives. It works in place, so it is not guarded
/// against truncation: if another process cut the object short of it, it raises `SIGBUS`.
public struct SharedAtomic<Value: AtomicRepresentable>: @unchecked Sendable {
    // @unchecked: the pointer targets shared memory that only atomic operations touch.
    /// The region the atomic lives in, kept mapped while the atomic lives.
    public let region: any SharedRegion
    @usableFromInline let pointer: UnsafeMutablePointer<Atomic<Value>>

    /// Binds the bytes at `offset` as an atomic `Value` (zero bytes are 0 or false).
    ///
    /// `Value` is an integer, `Bool`, a floating-point type, `Duration` or `WordPair`: types
    /// whose atomic form reads any bytes another process wrote as some value. Other
    /// `AtomicRepresentable` types trap on bytes that are no value (an enum's unknown raw value,
    /// a null pointer) or are addresses that mean nothing in another process, and are refused.
    ///
    /// - Throws: `.outOfBounds`, `.misaligned`, `.readOnly`, `.invalidArgument` for another `Value`.
    public init(in region: any SharedRegion, at offset: Int) throws(SharedMemoryError) {
        guard Value.self is any FixedWidthInteger.Type || Value.self is any BinaryFloatingPoint.Type
            || Value.self == Bool.self || Value.self == Duration.self || Value.self == WordPair.self
        else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "SharedAtomic", address: region.address.description,
                message: "an atomic \(Value.self) in shared memory traps or follows an address when another process "
                    + "writes bytes that are no \(Value.self)",
                hint: "keep an integer there (the RawValue of an enum, an offset instead of a pointer) and convert it "
                    + "with a check")
        }
        let raw = try RegionSlot.pointer(
            to: Atomic<Value>.self, at: offset, in: region, aligned: true, writing: true, operation: "SharedAtomic")
        self.region = region
        self.pointer = raw.bindMemory(to: Atomic<Value>.self, capacity: 1)
    }

    /// Calls `body` with the atomic itself, in place in the shared mapping: every operation
    /// `Atomic` offers, with the orderings written at the call site (they must be literals).
    @inlinable
    public func withAtomic<R, E: Error>(_ body: (borrowing Atomic<Value>) throws(E) -> R) throws(E) -> R {
        try body(pointer.pointee)
    }
}
