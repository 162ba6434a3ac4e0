/// The receiving side of an event service: learns which event ids fired since it last looked
/// (each once, however often it fired) and which ports attached, left or died, sleeping in
/// `futex(FUTEX_WAIT)` while there is nothing. Use a listener from one thread at a time; it
/// detaches when released.
public final class Listener: @unchecked Sendable {
    // @unchecked: one thread at a time uses a listener; the region is touched through atomics.
    /// The service this listener is attached to.
    public let service: EventService
    /// Its slot in the service's registry: 0 up to `maxListeners - 1`.
    public let index: Int
    let slot: ListenerSlot
    /// The ids' array, reused: when the caller has let go of the previous `FiredEvents`, its
    /// storage is this listener's alone again, and taking the next ids allocates nothing.
    private var eventIDs: [Int] = []
    /// Its place in the process's async waiter, made by the first async wait (Concurrency/).
    lazy var waitTicket = WaitTicket(WaitSource(self))

    /// Attaches a listener, taking a free slot of the registry (a compare-and-swap, after freeing
    /// the slots of dead processes), and posts `PortChanges.attached` to every other listener. It
    /// sees the ids notified after it attached.
    ///
    /// - Throws: `.limitExceeded` when `maxListeners` live listeners are attached; `.corrupted`
    ///   for a port word or flag no process of this library writes.
    public init(service: EventService) throws(SharedMemoryError) {
        self.service = service
        index = try service.registry.claim(.listener)
        slot = service.registry.listeners[index]
    }

    deinit {
        service.registry.release(.listener, index)
    }

    /// What fired since the last call, without waiting (atomic loads, and an exchange for each
    /// word that holds something; no system call). Empty if nothing did.
    ///
    /// - Throws: `.corrupted` for a bit above `maxEventID` or an unknown port change a peer wrote.
    public func tryWait() throws(SharedMemoryError) -> FiredEvents {
        try take()
    }

    /// Waits until something fires and returns what fired since the last call: announces that it
    /// sleeps, looks again, then sleeps in `futex(FUTEX_WAIT)` on its wake word until a notifier
    /// wakes it. A notification between the look and the sleep changes the wake word first, so
    /// the sleep returns at once: no wake-up is lost (Events.pml).
    ///
    /// At least every half second of sleep, and when `timeout` passes with nothing fired, it looks
    /// for ports whose processes died (`EventService.cleanDeadPorts()`, which posts
    /// `PortChanges.died`): a death ends the wait. At the timeout it returns what it found, empty
    /// if nothing.
    ///
    /// - Parameter timeout: the longest wait; `nil` waits until something fires.
    /// - Throws: as `tryWait()`; a `futex` failure other than a timeout.
    public func wait(timeout: Duration?) throws(SharedMemoryError) -> FiredEvents {
        // Each look's result is dropped before the next look, so the ids' array is reused.
        do {
            let fired = try take()
            if !fired.isEmpty { return fired }
        }
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            let remaining = deadline.map { clock.now.duration(to: $0) }
            if let remaining, remaining <= .zero {
                _ = try service.registry.cleanDeadPorts()
                return try take()
            }
            let expected = slot.wake.load()
            slot.sleeping.pointee.store(1, ordering: .sequentiallyConsistent)
            do {
                let fired = try take()
                if !fired.isEmpty {
                    slot.sleeping.pointee.store(0, ordering: .sequentiallyConsistent)
                    return fired
                }
            }
            let slept = try slot.wake.wait(
                whileValueIs: expected, timeout: Swift.min(remaining ?? PortRecord.deathCheckInterval, PortRecord.deathCheckInterval))
            slot.sleeping.pointee.store(0, ordering: .sequentiallyConsistent)
            do {
                let fired = try take()
                if !fired.isEmpty { return fired }
            }
            // A slice slept through: a notifier that died will never wake it.
            if slept == .timedOut, try service.registry.cleanDeadPorts() > 0 {
                let fired = try take()
                if !fired.isEmpty { return fired }
            }
        }
    }

    /// What fired since the last look, in the reused ids' array.
    private func take() throws(SharedMemoryError) -> FiredEvents {
        eventIDs.removeAll(keepingCapacity: true)
        var fired = FiredEvents()
        fired.portChanges = try slot.take(into: &eventIDs)
        fired.eventIDs = eventIDs
        return fired
    }
}
