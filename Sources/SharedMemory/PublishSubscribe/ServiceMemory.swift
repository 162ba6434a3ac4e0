import Synchronization

/// A service's region as this process maps it: one pointer to its start, checked once against
/// the layout's size, and typed views of the parts at offsets the layout computed. Nothing here
/// reads an offset or a pointer from the region.
struct ServiceMemory: @unchecked Sendable {
    // @unchecked: pointers into shared memory, touched through atomics (or by the lock holder).
    let region: any SharedRegion
    let layout: ServiceLayout
    let base: UnsafeMutableRawPointer
    let lock: ProcessMutex

    init(region: any SharedRegion, layout: ServiceLayout) throws(SharedMemoryError) {
        self.region = region
        self.layout = layout
        base = try RegionSlot.pointer(
            to: UInt8.self, count: layout.totalByteCount, at: 0, in: region, aligned: false, writing: true,
            operation: "PublishSubscribeService")
        lock = try ProcessMutex(in: region, at: layout.lockOffset)
    }

    var address: RegionAddress { region.address }
    var configuration: ServiceConfiguration { layout.configuration }

    @inline(__always)
    func atomic64(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    @inline(__always)
    func atomic32(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    /// Runs `body` holding the service's lock (`futex` underneath), at most `timeout` waiting for
    /// it. A holder that died left every structure usable (each step it takes is one store), so
    /// the lock is marked consistent and the dead port is cleaned by `cleanDeadPorts`.
    func withLock<R>(timeout: Duration = .seconds(10), _ body: () throws(SharedMemoryError) -> R)
        throws(SharedMemoryError) -> R
    {
        guard let acquisition = try lock.lock(timeout: timeout) else {
            throw SharedMemoryError(
                code: .timedOut, operation: "PublishSubscribeService.lock", address: address.description,
                message: "the service's lock stayed held for \(timeout)",
                hint: "another process holds it and makes no progress; end it, or remove the service")
        }
        if acquisition == .acquiredPreviousOwnerDied { try lock.markConsistent() }
        defer { try? lock.unlock() }
        return try body()
    }

    /// Wakes a port that announced it sleeps (its flag 1): only the caller that takes the flag
    /// back (compare-and-swap 1 to 0) bumps the port's wake word and calls `futex(FUTEX_WAKE)`,
    /// so a sleep costs one system call however many ports see it, and a port already woken
    /// that has not run yet (a busy machine) costs the senders none. Called after the caller's
    /// sequentially consistent publication of the work (PublishSubscribe.pml).
    @inline(__always)
    static func wake(_ sleeping: UnsafeMutablePointer<Atomic<UInt32>>, _ word: @autoclosure () -> FutexWord) {
        guard sleeping.pointee.load(ordering: .sequentiallyConsistent) == 1,
            sleeping.pointee.compareExchange(expected: 1, desired: 0, ordering: .sequentiallyConsistent).exchanged
        else { return }
        // The word only now: taking it out of the port's array retains its region.
        let word = word()
        word.wrappingAdd(1)
        word.wakeAll()
    }
}
