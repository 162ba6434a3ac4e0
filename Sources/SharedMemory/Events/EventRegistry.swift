import Synchronization

/// Which notifiers and listeners are attached to an event service, by whom (`PortRecord`: pid
/// and start time), and the posting of port changes to every listener. Lock-free: a port claims
/// a free slot with a compare-and-swap from 0 to its record and frees it with one from its
/// record to 0, so of several processes that find the same dead port only one frees it.
struct EventRegistry: @unchecked Sendable {
    // @unchecked: views of shared memory, touched only through atomics.
    let memory: EventMemory
    let listeners: [ListenerSlot]

    enum Kind: Sendable {
        case notifier, listener

        var name: String { self == .notifier ? "notifier" : "listener" }
    }

    init(memory: EventMemory) throws(SharedMemoryError) {
        self.memory = memory
        var listeners: [ListenerSlot] = []
        for index in 0..<memory.configuration.maxListeners { listeners.append(try memory.listener(index)) }
        self.listeners = listeners
    }

    func slotCount(_ kind: Kind) -> Int {
        kind == .notifier ? memory.configuration.maxNotifiers : memory.configuration.maxListeners
    }

    func word(_ kind: Kind, _ index: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        kind == .notifier
            ? memory.atomic64(memory.layout.notifierPort(index) + EventLayout.Port.word) : listeners[index].portWord
    }

    /// Who holds a slot; `nil` when free.
    func record(_ kind: Kind, _ index: Int) throws(SharedMemoryError) -> PortRecord? {
        try PortRecord(
            word: word(kind, index).pointee.load(ordering: .acquiring), address: memory.address,
            field: "\(kind.name) port \(index)", operation: "EventService")
    }

    /// Claims a free slot for this process, after freeing those of dead processes, and posts
    /// `attached` to every other listener.
    ///
    /// - Throws: `.limitExceeded` when every slot is held by a live process; `.corrupted` for a
    ///   port word or flag no process of this library writes.
    func claim(_ kind: Kind) throws(SharedMemoryError) -> Int {
        _ = try cleanDeadPorts()
        let mine = PortRecord(ProcessIdentity.current).word
        for index in 0..<slotCount(kind) where try record(kind, index) == nil {
            guard word(kind, index).pointee.compareExchange(expected: 0, desired: mine, ordering: .acquiringAndReleasing).exchanged
            else { continue }
            if kind == .listener { listeners[index].reset() }
            try post(.attached, except: kind == .listener ? index : nil)
            return index
        }
        throw SharedMemoryError(
            code: .limitExceeded, operation: "EventService.attach", address: memory.address.description,
            message: "all \(slotCount(kind)) \(kind.name) ports are attached by live processes",
            hint: "release a \(kind.name), or create the service with more \(kind.name)s")
    }

    /// Frees this process's slot (if it still holds it) and posts `left` to the other listeners.
    func release(_ kind: Kind, _ index: Int) {
        let mine = PortRecord(ProcessIdentity.current).word
        guard word(kind, index).pointee.compareExchange(expected: mine, desired: 0, ordering: .acquiringAndReleasing).exchanged
        else { return }
        try? post(.left, except: kind == .listener ? index : nil)
    }

    /// Frees every slot whose process is gone and posts `died` to every listener; how many.
    func cleanDeadPorts() throws(SharedMemoryError) -> Int {
        var cleaned = 0
        for kind in [Kind.notifier, .listener] {
            for index in 0..<slotCount(kind) {
                guard let record = try record(kind, index), !record.isAlive else { continue }
                if word(kind, index).pointee.compareExchange(expected: record.word, desired: 0, ordering: .acquiringAndReleasing)
                    .exchanged
                {
                    cleaned += 1
                }
            }
        }
        if cleaned > 0 { try post(.died, except: nil) }
        return cleaned
    }

    /// Posts a port change to every attached listener but `except`.
    func post(_ change: PortChanges, except: Int?) throws(SharedMemoryError) {
        for listener in listeners where listener.index != except {
            guard try listener.record() != nil else { continue }
            try listener.post(UInt64(change.rawValue), inWord: nil)
        }
    }
}
