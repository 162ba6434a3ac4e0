import Synchronization
import SystemPackage

/// A 32-bit word inside a region that processes can sleep on: `futex(FUTEX_WAIT)` and
/// `futex(FUTEX_WAKE)` on the shared mapping (not `FUTEX_PRIVATE_FLAG`, which only works
/// within one process).
///
/// A waiter sleeps only while the word still holds the value it expects, so a wake that
/// happens between its check and its sleep is never lost. Wake-ups may be spurious: after
/// `wait` returns, check the word again.
public struct FutexWord: @unchecked Sendable {
    // @unchecked: the pointer targets shared memory touched only atomically or by the kernel.
    /// The region the word lives in, kept mapped while the word lives.
    public let region: any SharedRegion
    @usableFromInline let word: UnsafeMutablePointer<Atomic<UInt32>>

    /// Binds the 4 bytes at `offset` (4-byte aligned, checked) as a futex word.
    public init(in region: any SharedRegion, at offset: Int) throws(SharedMemoryError) {
        let raw = try RegionSlot.pointer(
            to: UInt32.self, at: offset, in: region, aligned: true, writing: true, operation: "FutexWord")
        self.region = region
        self.word = raw.bindMemory(to: Atomic<UInt32>.self, capacity: 1)
    }

    /// The word, with acquire ordering: what the writer published before its release store
    /// is visible after this load.
    @inlinable
    public func load() -> UInt32 { word.pointee.load(ordering: .acquiring) }

    /// Stores with release ordering; call `wake` afterwards to rouse sleepers.
    @inlinable
    public func store(_ value: UInt32) { word.pointee.store(value, ordering: .releasing) }

    /// Compare-and-swap with acquire-release ordering.
    @inlinable
    public func compareExchange(expected: UInt32, desired: UInt32) -> (exchanged: Bool, original: UInt32) {
        word.pointee.compareExchange(expected: expected, desired: desired, ordering: .acquiringAndReleasing)
    }

    /// Adds with wrap-around, acquire-release; returns the new value.
    @inlinable @discardableResult
    public func wrappingAdd(_ operand: UInt32) -> UInt32 {
        word.pointee.wrappingAdd(operand, ordering: .acquiringAndReleasing).newValue
    }

    /// How a wait ended.
    public enum WaitResult: Sendable, Hashable {
        /// Woken by `wake`, by a signal, or spuriously: check the word.
        case woken
        /// The word no longer held the expected value, so there was nothing to wait for.
        case valueChanged
        /// The timeout passed.
        case timedOut
    }

    /// Sleeps while the word holds `expected` (`futex(FUTEX_WAIT)`), at most `timeout`.
    public func wait(whileValueIs expected: UInt32, timeout: Duration? = nil) throws(SharedMemoryError) -> WaitResult {
        let address = UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self)
        let result = FutexCall.wait(address, expected: expected, timeout: timeout)
        switch result {
        case .success: return .woken
        case .failure(.resourceTemporarilyUnavailable): return .valueChanged
        case .failure(.timedOut): return .timedOut
        case .failure(.interrupted): return .woken  // a signal: the caller rechecks, as after any wake
        case .failure(let error):
            throw SharedMemoryError(operation: "futex(FUTEX_WAIT)", address: region.address, errno: error)
        }
    }

    /// Wakes up to `count` sleepers (`futex(FUTEX_WAKE)`); returns how many woke.
    @discardableResult
    public func wake(count: Int32 = 1) -> Int {
        let address = UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self)
        return FutexCall.wake(address, count: count)
    }

    /// Wakes every sleeper.
    @discardableResult
    public func wakeAll() -> Int { wake(count: Int32.max) }
}
