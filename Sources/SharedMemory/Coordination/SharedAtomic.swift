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
/// atomic keeps the region mapped while it lives.
public struct SharedAtomic<Value: AtomicRepresentable>: @unchecked Sendable {
    // @unchecked: the pointer targets shared memory that only atomic operations touch.
    public let region: any SharedRegion
    @usableFromInline let pointer: UnsafeMutablePointer<Atomic<Value>>

    /// Binds the bytes at `offset` as an atomic `Value`; they must already hold a valid
    /// representation (zero bytes are 0, false or nil for the standard types).
    public init(in region: any SharedRegion, at offset: Int) throws(SharedMemoryError) {
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
