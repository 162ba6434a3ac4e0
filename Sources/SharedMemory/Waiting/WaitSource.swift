import Synchronization

/// One port a wait set sleeps for: its wake word and sleeping flag in the region, and the look
/// that tells whether it holds something. The protocol is the port's own (PublishSubscribe.pml,
/// Events.pml), with `futex_waitv` in place of `futex(FUTEX_WAIT)` (WaitSet.pml): read the wake
/// word, announce the sleep, look again, and sleep only while the word holds what was read.
///
/// Holds no reference to the subscriber or listener (a subscriber keeps its own source), only
/// what keeps the region mapped.
struct WaitSource: @unchecked Sendable {
    // @unchecked: pointers into shared memory, touched only through atomics or the kernel.
    enum Contents {
        /// A subscriber's queues, one per publisher.
        case queues([ChunkQueue])
        /// A listener's slot: its fired ids and port changes.
        case listener(ListenerSlot)
    }

    let wake: FutexWord
    let sleeping: UnsafeMutablePointer<Atomic<UInt32>>
    let contents: Contents

    init(_ subscriber: Subscriber) {
        wake = subscriber.wake
        sleeping = subscriber.sleeping
        contents = .queues(subscriber.queues)
    }

    init(_ listener: Listener) {
        wake = listener.slot.wake
        sleeping = listener.slot.sleeping
        contents = .listener(listener.slot)
    }

    /// Reads the wake word, then announces the sleep (a sequentially consistent store, before the
    /// look): what a publisher or notifier posts after the look finds the flag and bumps the word.
    /// The value read, to sleep on.
    func announce() -> UInt32 {
        let expected = wake.load()
        sleeping.pointee.store(1, ordering: .sequentiallyConsistent)
        return expected
    }

    /// Withdraws the announcement.
    func settle() {
        sleeping.pointee.store(0, ordering: .sequentiallyConsistent)
    }

    /// Whether something waits (sequentially consistent loads, ordered after `announce()`). A
    /// queue whose positions break its rules counts as ready: receiving then reports `.corrupted`.
    func isReady() -> Bool {
        switch contents {
        case .queues(let queues):
            // An index loop: iterating the array allocates in a debug build (the async waiter's thread runs this each round).
            for position in 0..<queues.count {
                guard let count = try? queues[position].count() else { return true }
                if count > 0 { return true }
            }
            return false
        case .listener(let slot):
            if slot.portChanges.pointee.load(ordering: .sequentiallyConsistent) != 0 { return true }
            for word in 0..<slot.eventWordCount where slot.events[word].load(ordering: .sequentiallyConsistent) != 0 {
                return true
            }
            return false
        }
    }
}
