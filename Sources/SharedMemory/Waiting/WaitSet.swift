#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import Synchronization

/// Waits in one thread for whichever of several subscribers and listeners has something first:
/// one `futex_waitv` call (Linux 5.16) sleeps on all their wake words at once.
///
/// ```swift
/// let waitSet = WaitSet()
/// let readings = waitSet.add(subscriber)
/// let alarms = waitSet.add(listener)
/// for source in try waitSet.wait(timeout: .seconds(1)) {
///     if source == readings { while let sample = try subscriber.receive() { use(sample) } }
///     if source == alarms { handle(try listener.tryWait()) }
/// }
/// ```
///
/// `wait(timeout:)` only reports; receive with `Subscriber.receive()` and `Listener.tryWait()`.
/// While a wait runs, its sources belong to it: do not wait on one of them elsewhere (another
/// set, `receive(timeout:)`, `wait(timeout:)`) at the same time. The set keeps its sources alive.
///
/// Before Linux 5.16 (`ENOSYS`), or with more sources than one `futex_waitv` call takes (127
/// besides the set's own word), the sources left out are looked at every `pollInterval` instead.
/// Use a set from one thread at a time; `interrupt()` may be called from any thread.
public final class WaitSet: @unchecked Sendable {
    // @unchecked: one thread at a time waits or changes the sources; `interrupt` only touches an atomic.

    /// Names a source of one set; `wait(timeout:)` answers with these.
    public struct SourceID: Hashable, Sendable {
        let value: Int
    }

    /// How often sources that are not in the `futex_waitv` call are looked at.
    public static let pollInterval = Duration.milliseconds(1)

    struct Entry {
        let id: SourceID
        let source: WaitSource
        /// The subscriber or listener, kept alive so its slot is not reused while in the set.
        let owner: AnyObject?
    }

    private(set) var entries: [Entry] = []
    /// After a wait: which entries were ready, by position.
    private(set) var readiness: [Bool] = []
    private var nextID = 0
    /// A word of this process in every `futex_waitv` call: `interrupt()` bumps it and wakes it.
    private let control: UnsafeMutablePointer<Atomic<UInt32>>
    /// The value of `control` the last wait saw: a bump since means an interrupt is pending.
    private var controlSeen: UInt32 = 0
    private let vector: UnsafeMutablePointer<CSharedMemoryShims_futex_waitv>
    private static let vectorCapacity = Int(CSharedMemoryShims_FUTEX_WAITV_MAX)
    /// Whether this kernel has `futex_waitv`: until a call says `ENOSYS`.
    private static let kernelHasFutexWaitv = Atomic<Bool>(true)
    /// `false` to look at every source every `pollInterval` (the path taken without `futex_waitv`).
    var usesFutexWaitv: Bool

    /// An empty set.
    public convenience init() {
        self.init(usesFutexWaitv: WaitSet.kernelHasFutexWaitv.load(ordering: .relaxed))
    }

    init(usesFutexWaitv: Bool) {
        self.usesFutexWaitv = usesFutexWaitv
        control = .allocate(capacity: 1)
        control.initialize(to: Atomic(0))
        vector = .allocate(capacity: Self.vectorCapacity)
        entries.reserveCapacity(16)
        readiness.reserveCapacity(16)
    }

    deinit {
        control.deallocate()
        vector.deallocate()
    }

    /// How many sources the set holds.
    public var count: Int { entries.count }

    /// Adds a subscriber: ready when a sample waits in one of its queues.
    ///
    /// - Parameter subscriber: the subscriber to wait for; kept alive while in the set.
    /// - Returns: its id in this set.
    @discardableResult
    public func add(_ subscriber: Subscriber) -> SourceID {
        add(WaitSource(subscriber), owner: subscriber)
    }

    /// Adds a listener: ready when an id fired or a port changed since its last `tryWait()`.
    ///
    /// - Parameter listener: the listener to wait for; kept alive while in the set.
    /// - Returns: its id in this set.
    @discardableResult
    public func add(_ listener: Listener) -> SourceID {
        add(WaitSource(listener), owner: listener)
    }

    func add(_ source: WaitSource, owner: AnyObject?) -> SourceID {
        let id = SourceID(value: nextID)
        nextID += 1
        entries.append(Entry(id: id, source: source, owner: owner))
        readiness.append(false)
        return id
    }

    /// Removes a source; nothing if it is not in the set.
    ///
    /// - Parameter id: what `add` returned.
    public func remove(_ id: SourceID) {
        guard let position = entries.firstIndex(where: { $0.id == id }) else { return }
        removeEntry(at: position)
    }

    func removeEntry(at position: Int) {
        entries.remove(at: position)
        readiness.remove(at: position)
    }

    /// Makes the wait in progress return, or the next one if none is (with the sources ready
    /// then, possibly none): bumps a word of the set and wakes it (`futex(FUTEX_WAKE)`).
    /// Callable from any thread.
    public func interrupt() {
        control.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        _ = FutexCall.wake(UnsafeMutableRawPointer(control).assumingMemoryBound(to: UInt32.self), count: Int32.max)
    }

    /// Waits until at least one source has something, `timeout` passes, or `interrupt()` is
    /// called: looks at each source, announces a sleep in each one's port (as its own wait does),
    /// looks again, then sleeps in one `futex_waitv` on every wake word and the set's own word.
    ///
    /// - Parameter timeout: the longest wait; `nil` waits until a source is ready or an interrupt.
    /// - Returns: the sources ready, in the order they were added; empty at the timeout or after
    ///   an interrupt with none ready.
    /// - Throws: a `futex_waitv` failure other than a timeout, a signal or a changed word.
    public func wait(timeout: Duration?) throws(SharedMemoryError) -> [SourceID] {
        let clock = ContinuousClock()
        guard try waitForAny(until: timeout.map { clock.now + $0 }) else { return [] }
        var ready: [SourceID] = []
        for (entry, isReady) in zip(entries, readiness) where isReady { ready.append(entry.id) }
        return ready
    }

    /// The wait behind `wait(timeout:)`, filling `readiness`: whether any source is ready.
    func waitForAny(until deadline: ContinuousClock.Instant?) throws(SharedMemoryError) -> Bool {
        if lookAtSources() { return true }
        let clock = ContinuousClock()
        while true {
            let control = control.pointee.load(ordering: .sequentiallyConsistent)
            if control != controlSeen {
                controlSeen = control
                return false
            }
            let remaining = deadline.map { clock.now.duration(to: $0) }
            if let remaining, remaining <= .zero { return false }
            let announced = lookAfterAnnouncing()
            // A throw leaves the flags set: a publisher or notifier then makes one wake call too many.
            if !announced { try sleep(remaining: remaining) }
            for position in 0..<entries.count { entries[position].source.settle() }
            if announced || lookAtSources() { return true }
        }
    }

    /// Looks at every source, recording which are ready; whether any is.
    private func lookAtSources() -> Bool {
        var any = false
        for position in 0..<entries.count {
            let isReady = entries[position].source.isReady()
            readiness[position] = isReady
            any = any || isReady
        }
        return any
    }

    /// Fills the `futex_waitv` vector: the set's word, then each source's wake word with the value
    /// read before its announcement; then looks at every source. Whether any is ready.
    private func lookAfterAnnouncing() -> Bool {
        vector[0] = entry(for: UnsafeMutableRawPointer(control), value: controlSeen)
        // Index loops: iterating the entries allocates in a debug build.
        for position in 0..<entries.count {
            let source = entries[position].source
            let expected = source.announce()
            if position + 1 < Self.vectorCapacity {
                vector[position + 1] = entry(for: UnsafeMutableRawPointer(source.wake.word), value: expected)
            }
        }
        return lookAtSources()
    }

    private func entry(for word: UnsafeMutableRawPointer, value: UInt32) -> CSharedMemoryShims_futex_waitv {
        CSharedMemoryShims_futex_waitv(
            value: UInt64(value), address: UInt64(UInt(bitPattern: word)), flags: CSharedMemoryShims_FUTEX2_SIZE_U32,
            reserved: 0)
    }

    /// Sleeps in `futex_waitv` on the vector; in slices of `pollInterval` when sources were left
    /// out of it; on the set's word alone, in slices, without `futex_waitv`.
    private func sleep(remaining: Duration?) throws(SharedMemoryError) {
        let covered = entries.count + 1 <= Self.vectorCapacity
        var slice = remaining
        if !covered || !usesFutexWaitv { slice = min(remaining ?? Self.pollInterval, Self.pollInterval) }
        guard usesFutexWaitv else {
            let word = UnsafeMutableRawPointer(control).assumingMemoryBound(to: UInt32.self)
            _ = FutexCall.wait(word, expected: controlSeen, timeout: slice)
            return
        }
        let result = FutexCall.waitv(vector, count: min(entries.count + 1, Self.vectorCapacity), deadline: slice.map(Self.monotonicDeadline))
        switch result {
        case .success, .failure(.resourceTemporarilyUnavailable), .failure(.timedOut), .failure(.interrupted):
            return
        case .failure(.noFunction):
            // Linux before 5.16: every set from now on looks at its sources in slices.
            Self.kernelHasFutexWaitv.store(false, ordering: .relaxed)
            usesFutexWaitv = false
        case .failure(let error):
            throw SharedMemoryError(operation: "futex_waitv", address: nil, errno: error)
        }
    }

    /// `CLOCK_MONOTONIC` now plus `duration`: the absolute deadline `futex_waitv` takes.
    private static func monotonicDeadline(after duration: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let relative = timespec(duration)
        var deadline = timespec(tv_sec: now.tv_sec + relative.tv_sec, tv_nsec: now.tv_nsec + relative.tv_nsec)
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        return deadline
    }
}
