import Synchronization

/// One subscriber's or listener's place in the process's `AsyncWaiter`: the port to watch and the
/// task suspended on it. Made once per subscriber or listener and reused by every wait, so an
/// async wait allocates no ticket.
///
/// Who resumes the task is decided under the lock, once: the waiter thread (the port is ready, or
/// a slice of sleep ended) or the task's cancellation handler; the other one finds nothing armed.
final class WaitTicket: Sendable {
    /// What ended a suspension.
    enum Outcome: Sendable {
        /// The port has something (look, it may be gone again).
        case ready
        /// Half a second passed: look for dead peers, then wait again.
        case slice
        /// The task was cancelled.
        case cancelled
        /// `futex_waitv` failed.
        case failed(SharedMemoryError)
    }

    private enum Phase {
        /// No wait in progress, or one that has not suspended yet.
        case idle
        /// A task is suspended here.
        case armed(UnsafeContinuation<Outcome, Never>)
        /// The wait in progress was cancelled (before or after it suspended).
        case cancelled
    }

    let source: WaitSource
    private let phase = Mutex(Phase.idle)

    init(_ source: WaitSource) {
        self.source = source
    }

    /// Suspends the calling task until the waiter thread finds the port ready, a slice ends, or
    /// the task is cancelled. Use from one task at a time (the port's owner is used so).
    func wait() async -> Outcome {
        phase.withLock { $0 = .idle }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                let armed = phase.withLock { phase -> Bool in
                    // Cancelled before suspending: the handler ran first and found nothing to resume.
                    if case .cancelled = phase { return false }
                    phase = .armed(continuation)
                    return true
                }
                if armed {
                    AsyncWaiter.shared.submit(self)
                } else {
                    continuation.resume(returning: .cancelled)
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Whether a task is suspended here (the waiter thread drops tickets that are not).
    var isArmed: Bool {
        phase.withLock { phase in
            if case .armed = phase { return true }
            return false
        }
    }

    /// Resumes the suspended task with `outcome`, if one is: whether one was.
    @discardableResult
    func fire(_ outcome: Outcome) -> Bool {
        let continuation = phase.withLock { phase -> UnsafeContinuation<Outcome, Never>? in
            guard case .armed(let continuation) = phase else { return nil }
            phase = .idle
            return continuation
        }
        continuation?.resume(returning: outcome)
        return continuation != nil
    }

    /// The task was cancelled: resumes it if it is suspended, else marks the wait so that it does
    /// not suspend; tells the waiter thread to let go of the port.
    private func cancel() {
        let continuation = phase.withLock { phase -> UnsafeContinuation<Outcome, Never>? in
            defer { phase = .cancelled }
            guard case .armed(let continuation) = phase else { return nil }
            return continuation
        }
        guard let continuation else { return }
        continuation.resume(returning: .cancelled)
        AsyncWaiter.shared.interrupt()
    }
}
