#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A mutex inside a region that processes share, and that survives a crashed owner: a
/// process-shared, robust, error-checking `pthread_mutex_t`.
///
/// If the process holding it dies, the next `lock()` acquires it and returns
/// `.acquiredPreviousOwnerDied`: the protected data may be half-updated. Repair it, then call
/// `markConsistent()` before `unlock()`. Unlocking without marking it consistent makes the
/// mutex unusable for good: every later `lock()` fails with `.notRecoverable`, as POSIX
/// defines, so nobody mistakes broken data for good data.
///
/// One process initializes the mutex (`initialize(in:at:)`) before the others attach to it
/// (`init(in:at:)`); `SharedMemory.openOrCreate(_:layout:initializer:)` is a safe place to do that.
public struct ProcessMutex: @unchecked Sendable {
    // @unchecked: the pointer targets shared memory that only pthread calls touch.
    public let region: any SharedRegion
    let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// The bytes a mutex takes in the region, and the alignment its offset needs.
    public static let byteCount = MemoryLayout<pthread_mutex_t>.size
    public static let alignment = MemoryLayout<pthread_mutex_t>.alignment

    /// How a lock was acquired.
    public enum Acquisition: Sendable, Hashable {
        /// The usual case.
        case acquired
        /// The previous owner died holding it (`EOWNERDEAD`): repair the data, then call
        /// `markConsistent()`.
        case acquiredPreviousOwnerDied
    }

    /// Attaches to a mutex that some process already initialized at `offset`.
    public init(in region: any SharedRegion, at offset: Int) throws(SharedMemoryError) {
        let raw = try RegionSlot.pointer(
            to: pthread_mutex_t.self, at: offset, in: region, aligned: true, writing: true, operation: "ProcessMutex")
        self.region = region
        self.mutex = raw.assumingMemoryBound(to: pthread_mutex_t.self)
    }

    /// Initializes a mutex at `offset` (`pthread_mutex_init` with `PTHREAD_PROCESS_SHARED`,
    /// `PTHREAD_MUTEX_ROBUST` and `PTHREAD_MUTEX_ERRORCHECK`). Do it once, before any other
    /// process uses it; initializing a mutex someone holds is undefined behaviour.
    public static func initialize(in region: any SharedRegion, at offset: Int) throws(SharedMemoryError) -> ProcessMutex {
        let mutex = try ProcessMutex(in: region, at: offset)
        var attributes = pthread_mutexattr_t()
        try mutex.check("pthread_mutexattr_init", pthread_mutexattr_init(&attributes))
        defer { pthread_mutexattr_destroy(&attributes) }
        try mutex.check("pthread_mutexattr_setpshared", pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED)))
        try mutex.check("pthread_mutexattr_setrobust", pthread_mutexattr_setrobust(&attributes, Int32(PTHREAD_MUTEX_ROBUST)))
        // Error-checking: relocking from the owning thread is EDEADLK, not a silent hang.
        try mutex.check("pthread_mutexattr_settype", pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ERRORCHECK)))
        try mutex.check("pthread_mutex_init", pthread_mutex_init(mutex.mutex, &attributes))
        return mutex
    }

    /// Blocks until the mutex is acquired (`pthread_mutex_lock`).
    ///
    /// - Throws: `.notRecoverable` if an owner died and nobody marked it consistent;
    ///   `.deadlock` if this thread holds it already.
    @discardableResult
    public func lock() throws(SharedMemoryError) -> Acquisition {
        try acquisition("pthread_mutex_lock", pthread_mutex_lock(mutex))
    }

    /// Acquires the mutex if it is free now (`pthread_mutex_trylock`); `nil` if it is held.
    public func tryLock() throws(SharedMemoryError) -> Acquisition? {
        let result = pthread_mutex_trylock(mutex)
        if result == EBUSY { return nil }
        return try acquisition("pthread_mutex_trylock", result)
    }

    /// Waits at most `timeout` for the mutex (`pthread_mutex_timedlock`); `nil` if it passed.
    public func lock(timeout: Duration) throws(SharedMemoryError) -> Acquisition? {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)  // timedlock takes an absolute CLOCK_REALTIME time
        let relative = timespec(timeout)
        var deadline = timespec(tv_sec: now.tv_sec + relative.tv_sec, tv_nsec: now.tv_nsec + relative.tv_nsec)
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        let result = pthread_mutex_timedlock(mutex, &deadline)
        if result == ETIMEDOUT { return nil }
        return try acquisition("pthread_mutex_timedlock", result)
    }

    /// Releases the mutex (`pthread_mutex_unlock`).
    public func unlock() throws(SharedMemoryError) {
        try check("pthread_mutex_unlock", pthread_mutex_unlock(mutex))
    }

    /// Declares the protected data repaired after `.acquiredPreviousOwnerDied`
    /// (`pthread_mutex_consistent`); call it before `unlock()`.
    public func markConsistent() throws(SharedMemoryError) {
        try check("pthread_mutex_consistent", pthread_mutex_consistent(mutex))
    }

    /// Runs `body` holding the mutex.
    ///
    /// If the previous owner died, `repair` runs first and the mutex is then marked
    /// consistent; without a `repair`, the mutex is released unrepaired, becomes
    /// unrecoverable, and this call throws `.notRecoverable`.
    public func withLock<R>(repairingAfterOwnerDeath repair: (() throws -> Void)? = nil, _ body: () throws -> R) throws -> R {
        if try lock() == .acquiredPreviousOwnerDied {
            guard let repair else {
                try unlock()
                throw SharedMemoryError(
                    code: .notRecoverable, operation: "withLock", address: region.address.description,
                    message: "the previous owner died holding the mutex and no repair was given",
                    hint: "pass repairingAfterOwnerDeath: to withLock to restore the data's invariants")
            }
            do {
                try repair()
            } catch {
                try unlock()
                throw error
            }
            try markConsistent()
        }
        defer { try? unlock() }
        return try body()
    }

    private func acquisition(_ call: String, _ result: Int32) throws(SharedMemoryError) -> Acquisition {
        if result == EOWNERDEAD { return .acquiredPreviousOwnerDied }
        try check(call, result)
        return .acquired
    }

    /// pthread functions return the error number instead of setting errno.
    private func check(_ call: String, _ result: Int32) throws(SharedMemoryError) {
        guard result != 0 else { return }
        var error = SharedMemoryError(operation: call, address: region.address, errno: Errno(rawValue: result))
        if result == ENOTRECOVERABLE {
            error.hint = "its owner died and nobody marked it consistent; initialize a new mutex "
                + "(ProcessMutex.initialize) once no process uses this one"
        }
        throw error
    }
}
