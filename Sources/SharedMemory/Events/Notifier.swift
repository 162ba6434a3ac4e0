/// The signalling side of an event service: `notify(_:)` marks an event id fired in every
/// listener's set and wakes those that sleep. Any number of threads may notify at once.
///
/// A notification costs one atomic read-modify-write per attached listener; only a listener
/// that announced that it sleeps costs a system call (`futex(FUTEX_WAKE)`), once per sleep
/// however many notifiers signal it.
public final class Notifier: @unchecked Sendable {
    // @unchecked: immutable; the region is touched only through atomics.
    /// The service this notifier is attached to.
    public let service: EventService
    /// Its slot in the service's registry: 0 up to `maxNotifiers - 1`.
    public let index: Int

    /// Attaches a notifier, taking a free slot of the registry (a compare-and-swap, after freeing
    /// the slots of dead processes), and posts `PortChanges.attached` to every listener.
    ///
    /// - Throws: `.limitExceeded` when `maxNotifiers` live notifiers are attached; `.corrupted`
    ///   for a port word or flag no process of this library writes.
    public init(service: EventService) throws(SharedMemoryError) {
        self.service = service
        index = try service.registry.claim(.notifier)
    }

    deinit {
        service.registry.release(.notifier, index)
    }

    /// Signals `eventID` to every attached listener: sets its bit in each one's set of fired
    /// ids, and wakes (`futex(FUTEX_WAKE)`) each one that sleeps.
    ///
    /// - Returns: how many listeners it reached.
    /// - Throws: `.invalidArgument` for an id outside 0 ... `maxEventID`; `.corrupted` for a port
    ///   word or sleeping flag no process of this library writes (the listeners before it were
    ///   reached).
    @discardableResult
    public func notify(_ eventID: Int) throws(SharedMemoryError) -> Int {
        let maxEventID = service.configuration.maxEventID
        guard eventID >= 0, eventID <= maxEventID else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "Notifier.notify", address: service.address.description,
                message: "event id \(eventID) is outside this service's ids 0...\(maxEventID)",
                hint: "give an id from 0 to \(maxEventID), or create the service with a larger maxEventID")
        }
        let (word, bit) = (eventID / 64, UInt64(1) << UInt64(eventID % 64))
        var reached = 0
        let listeners = service.registry.listeners
        // By index: an unoptimized build's array iterator allocates per element (the allocation probe).
        for index in listeners.indices where try listeners[index].record() != nil {
            try listeners[index].post(bit, inWord: word)
            reached += 1
        }
        return reached
    }
}
