import Synchronization

/// One listener's part of an event service's region, seen from any process: what a notifier
/// writes into (the set of fired ids, the port changes) and how it wakes the listener.
///
/// The wake protocol (Events.pml): the listener reads its wake word, announces that it sleeps
/// (sequentially consistent store of 1), looks at its set again, and only then sleeps
/// (`futex(FUTEX_WAIT)` while the wake word holds what it read). A notifier sets the id's bit
/// (a sequentially consistent read-modify-write), then reads the flag; only if the listener
/// announced it sleeps does the notifier take the flag back (compare-and-swap 1 to 0), bump the
/// wake word and call `futex(FUTEX_WAKE)`. One of the two sees the other, so no wake-up is lost,
/// and a busy listener costs its notifiers no system call.
struct ListenerSlot: @unchecked Sendable {
    // @unchecked: pointers into shared memory, touched only through atomics or the kernel.
    let index: Int
    let portWord: UnsafeMutablePointer<Atomic<UInt64>>
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>
    let wake: FutexWord
    let portChanges: UnsafeMutablePointer<Atomic<UInt32>>
    let events: UnsafeMutablePointer<Atomic<UInt64>>
    let eventWordCount: Int
    /// The bits of the last word that stand for ids up to `maxEventID`.
    let lastWordMask: UInt64
    let address: RegionAddress

    init(memory: EventMemory, index: Int) throws(SharedMemoryError) {
        let port = memory.layout.listenerPort(index)
        self.index = index
        portWord = memory.atomic64(port + EventLayout.Port.word)
        sleeping = memory.atomic32(port + EventLayout.Port.sleeping)
        wake = try FutexWord(in: memory.region, at: port + EventLayout.Port.wake)
        portChanges = memory.atomic32(port + EventLayout.Port.portChanges)
        events = memory.atomic64(port + EventLayout.Port.events)
        eventWordCount = memory.layout.eventWordCount
        let usedBits = memory.configuration.maxEventID % 64 + 1
        lastWordMask = usedBits == 64 ? ~0 : (1 << UInt64(usedBits)) - 1
        address = memory.address
    }

    /// Who holds the slot; `nil` when free.
    func record() throws(SharedMemoryError) -> PortRecord? {
        try PortRecord(
            word: portWord.pointee.load(ordering: .acquiring), address: address, field: "listener port \(index)",
            operation: "EventService")
    }

    /// Sets `bits` in event word `word` (or in the port changes when `word` is `nil`) and wakes the
    /// listener if it announced that it sleeps; whether this call woke it.
    ///
    /// - Throws: `.corrupted` for a sleeping flag other than 0 or 1.
    @discardableResult
    func post(_ bits: UInt64, inWord word: Int?) throws(SharedMemoryError) -> Bool {
        if let word {
            events[word].bitwiseOr(bits, ordering: .sequentiallyConsistent)
        } else {
            portChanges.pointee.bitwiseOr(UInt32(truncatingIfNeeded: bits), ordering: .sequentiallyConsistent)
        }
        let flag = sleeping.pointee.load(ordering: .sequentiallyConsistent)
        guard flag <= 1 else {
            throw .corrupted(
                "Notifier.notify", address, field: "sleeping flag of listener \(index)", value: flag,
                rule: "it is 0 (awake) or 1 (asleep)")
        }
        // Only the notifier that takes the flag back wakes: one system call per sleep.
        guard flag == 1, sleeping.pointee.compareExchange(expected: 1, desired: 0, ordering: .sequentiallyConsistent).exchanged
        else { return false }
        wake.wrappingAdd(1)
        wake.wakeAll()
        return true
    }

    /// Takes every fired id and port change posted since the last call (each word read, and
    /// swapped with 0 only if it holds something), appending the ids to `eventIDs`.
    ///
    /// - Throws: `.corrupted` for a bit above `maxEventID` or an unknown port change.
    func take(into eventIDs: inout [Int]) throws(SharedMemoryError) -> PortChanges {
        for word in 0..<eventWordCount where events[word].load(ordering: .sequentiallyConsistent) != 0 {
            var bits = events[word].exchange(0, ordering: .sequentiallyConsistent)
            if word == eventWordCount - 1, bits & ~lastWordMask != 0 {
                throw .corrupted(
                    "Listener.wait", address, field: "fired ids word \(word) of listener \(index)", value: bits,
                    rule: "only bits for ids up to the service's largest event id are set")
            }
            while bits != 0 {
                eventIDs.append(word * 64 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        guard portChanges.pointee.load(ordering: .sequentiallyConsistent) != 0 else { return [] }
        let changes = portChanges.pointee.exchange(0, ordering: .sequentiallyConsistent)
        guard changes & ~PortChanges.all.rawValue == 0 else {
            throw .corrupted(
                "Listener.wait", address, field: "port changes of listener \(index)", value: changes,
                rule: "only bits 0-2 (attached, left, died) are set")
        }
        return PortChanges(rawValue: changes)
    }

    /// Empties the slot's flags and set for a new listener (after it claimed the slot).
    func reset() {
        for word in 0..<eventWordCount { events[word].store(0, ordering: .relaxed) }
        portChanges.pointee.store(0, ordering: .relaxed)
        sleeping.pointee.store(0, ordering: .releasing)
    }
}
