#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The one thread of this process that sleeps for every async waiter (`Subscriber.nextSample()`,
/// `Listener.nextEvents()` and their `AsyncSequence`s), so that no thread of Swift's cooperative
/// pool blocks: a `WaitSet` over the ports of every suspended task, one `futex_waitv` on their
/// wake words and the set's own word.
///
/// A task that found nothing (after spinning) arms its `WaitTicket` and submits it: the ticket
/// goes on a list under a lock, then `WaitSet.interrupt()` bumps the set's word and wakes it
/// (`futex(FUTEX_WAKE)`). Each round the thread takes the list first, then compares the set's
/// word, looks at the ports, announces its sleep in each and looks again before `futex_waitv`
/// (AsyncWaiter.pml): a submission after the take moves the word the sleep compares, so none is
/// missed. A ready port's task is resumed and its ticket leaves the set; every half second the
/// tasks are resumed to look for dead peers, as blocking waits do.
///
/// Started with the first async wait that has to suspend (`pthread_create`), it lives as long as
/// the process.
final class AsyncWaiter: Sendable {
    static let shared = AsyncWaiter()

    /// Tickets armed since the thread last looked.
    private let submitted = Mutex<[WaitTicket]>([])
    /// The thread's set; only `interrupt()` is called from other threads.
    private let waitSet = WaitSet()
    /// The tickets in `waitSet`, in its order. The thread's alone.
    private nonisolated(unsafe) var watched: [WaitTicket] = []
    /// The submitted tickets, taken out of the lock's list. The thread's alone.
    private nonisolated(unsafe) var incoming: [WaitTicket] = []

    private init() {
        submitted.withLock { $0.reserveCapacity(64) }
        watched.reserveCapacity(64)
        incoming.reserveCapacity(64)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            Unmanaged<AsyncWaiter>.fromOpaque(context!).takeRetainedValue().run()
        }, context)
        precondition(started == 0, "pthread_create failed for the async waiter thread: \(started)")
        pthread_detach(thread)
    }

    /// Hands an armed ticket to the thread and wakes it.
    func submit(_ ticket: WaitTicket) {
        submitted.withLock { $0.append(ticket) }
        waitSet.interrupt()
    }

    /// Makes the thread look at its tickets again (one was cancelled).
    func interrupt() {
        waitSet.interrupt()
    }

    private func run() -> Never {
        let clock = ContinuousClock()
        var sliceEnd: ContinuousClock.Instant?
        while true {
            takeSubmitted()
            // Cancelled tickets, and tickets already resumed by a cancellation, leave the set.
            // (Index loops here and below: iterating an array of references allocates in a debug build.)
            var position = watched.count
            while position > 0 {
                position -= 1
                if !watched[position].isArmed { drop(at: position) }
            }
            if watched.isEmpty {
                sliceEnd = nil
            } else if sliceEnd == nil {
                sliceEnd = clock.now + PortRecord.deathCheckInterval
            }
            let anyReady: Bool
            do {
                anyReady = try waitSet.waitForAny(until: sliceEnd)
            } catch {
                fireAll(.failed(error))
                continue
            }
            if anyReady {
                var position = watched.count
                while position > 0 {
                    position -= 1
                    guard waitSet.readiness[position] else { continue }
                    watched[position].fire(.ready)
                    drop(at: position)
                }
            } else if let end = sliceEnd, clock.now >= end {
                fireAll(.slice)
                sliceEnd = nil
            }
        }
    }

    /// Moves the submitted tickets into the set (a ticket already there stays once).
    private func takeSubmitted() {
        submitted.withLock { list in
            incoming.append(contentsOf: list)
            list.removeAll(keepingCapacity: true)
        }
        for next in 0..<incoming.count {
            let ticket = incoming[next]
            var known = false
            for position in 0..<watched.count where watched[position] === ticket { known = true }
            guard !known else { continue }
            watched.append(ticket)
            _ = waitSet.add(ticket.source, owner: ticket)
        }
        incoming.removeAll(keepingCapacity: true)
    }

    private func drop(at position: Int) {
        watched.remove(at: position)
        waitSet.removeEntry(at: position)
    }

    /// Resumes every task in the set with `outcome` and empties the set.
    private func fireAll(_ outcome: WaitTicket.Outcome) {
        while let ticket = watched.last {
            ticket.fire(outcome)
            drop(at: watched.count - 1)
        }
    }
}
