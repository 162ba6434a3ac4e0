#if canImport(Glibc)
import Glibc
#endif

/// One change to one semaphore of a set: a `struct sembuf` for `semop`.
///
/// A negative `delta` waits until the semaphore is at least `-delta`, then subtracts it;
/// a positive one adds it (never waits); zero waits until the semaphore is 0.
public struct SemaphoreOperation: Sendable, Hashable {
    /// `sem_flg`: whether the operation may wait, and whether the kernel undoes it at exit.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }

        /// `IPC_NOWAIT`: where the operation would wait, `apply` returns `.wouldBlock` instead.
        public static let noWait = Flags(rawValue: Int16(IPC_NOWAIT))
        /// `SEM_UNDO`: the kernel reverts the change when this process exits, even if killed.
        /// Take and give back with the same flag, or the adjustments do not cancel out.
        public static let undo = Flags(rawValue: Int16(SEM_UNDO))
    }

    /// Which semaphore of the set, from 0 (`sem_num`).
    public var index: Int
    /// What to add (`sem_op`): -32767…32767, since a semaphore holds 0…32767 (`SEMVMX`).
    public var delta: Int
    /// `IPC_NOWAIT` and `SEM_UNDO` (`sem_flg`).
    public var flags: Flags

    /// One operation of a `semop` call; nothing is checked until the set applies it.
    public init(index: Int, delta: Int, flags: Flags = []) {
        self.index = index
        self.delta = delta
        self.flags = flags
    }

    /// Waits until semaphore `index` is at least `amount`, then subtracts it (P, down, acquire).
    public static func wait(_ index: Int, by amount: Int = 1, flags: Flags = []) -> SemaphoreOperation {
        // Wrapping, so that an absurd amount reaches the range check instead of trapping.
        SemaphoreOperation(index: index, delta: 0 &- amount, flags: flags)
    }

    /// Adds `amount` to semaphore `index`, waking waiters (V, up, release).
    public static func signal(_ index: Int, by amount: Int = 1, flags: Flags = []) -> SemaphoreOperation {
        SemaphoreOperation(index: index, delta: amount, flags: flags)
    }

    /// Waits until semaphore `index` is 0.
    public static func waitForZero(_ index: Int, flags: Flags = []) -> SemaphoreOperation {
        SemaphoreOperation(index: index, delta: 0, flags: flags)
    }
}

/// How `SystemVSemaphoreSet.apply` ended; failures are thrown as `SharedMemoryError`.
public enum SemaphoreApplyResult: Sendable, Hashable {
    /// Every operation was applied, at once.
    case applied
    /// An operation flagged `.noWait` would have waited; nothing was applied (`EAGAIN`).
    case wouldBlock
    /// The timeout passed before the operations could be applied; nothing was applied.
    case timedOut
}
