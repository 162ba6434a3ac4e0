import Synchronization
import SystemPackage

/// A mutex inside a region that processes share, and that survives a crashed owner: the
/// library's own lock on a futex word, whose 64 bytes hold integers only (Docs/Interop.md
/// gives the layout, so a C program can take the same lock).
///
/// If the thread holding it dies, the next `lock()` acquires it and returns
/// `.acquiredPreviousOwnerDied`: the protected data may be half-updated. Repair it, then call
/// `markConsistent()` before `unlock()`. Unlocking without marking it consistent makes the
/// mutex unusable for good: every later `lock()` fails with `.notRecoverable`, as POSIX
/// defines for robust mutexes, so nobody mistakes broken data for good data.
///
/// The futex word names its holder by thread id (as Linux's robust futexes do), set by the
/// compare-and-swap that takes it; the holder then records its pid, start time and pid namespace.
/// Waiters check that holder (`tgkill`, `kill`, `/proc/PID/task/TID/stat`) each time a 100 ms
/// sleep on the word ends: a death is noticed within about 100 ms by a waiting `lock()`, at once
/// by `tryLock()`, wherever the holder was killed. A holder in another pid namespace than the
/// one that initialized the mutex cannot be checked and is taken to be alive.
///
/// Trust: nothing read from the region is ever followed as an address, and a value the
/// protocol never writes is a `.corrupted` error, never a trap or an endless wait on garbage.
/// A process that can write the region can still hold the lock forever, or write "free" into
/// it: give a timeout (`lock(timeout:)`) wherever a peer may misbehave.
///
/// One process initializes the mutex (`initialize(in:at:)`) before the others attach to it
/// (`init(in:at:)`); `SharedRegions.openInitialized(_:layout:initializer:)` is a safe place to do that.
/// Lock and unlock on the same thread: a Swift task may resume on another thread after `await`.
public struct ProcessMutex: @unchecked Sendable {
    // @unchecked: the pointers target shared memory that is only touched atomically.
    /// The region the mutex lives in, kept mapped while the mutex lives.
    public let region: any SharedRegion
    private let header: UnsafeMutablePointer<Atomic<UInt64>>
    private let state: UnsafeMutablePointer<Atomic<UInt64>>
    private let namespace: UnsafeMutablePointer<Atomic<UInt64>>
    private let word: FutexWord
    private let owner: ProcessMutexOwner
    /// Whether this process runs in the pid namespace the mutex records, so that its thread ids
    /// go into the word (otherwise `anonymous` does). Fixed for a process's life.
    private let namesThreads: Bool

    /// The bytes a mutex takes in the region, and the alignment its offset needs (64 keeps it
    /// on a cache line of its own).
    public static let byteCount = ProcessMutexState.byteCount
    /// See `byteCount`.
    public static let alignment = ProcessMutexState.alignment

    /// How many times a contended `lock()` re-reads the word before it sleeps: a holder on
    /// another CPU often lets go within that time, cheaper than a sleep and a wake-up.
    static let spins = 100
    /// How long a waiter sleeps before it checks whether the holder still lives.
    static let ownerCheckInterval = Duration.milliseconds(100)

    /// How a lock was acquired.
    public enum Acquisition: Sendable, Hashable {
        /// The usual case.
        case acquired
        /// The previous owner died holding it (`EOWNERDEAD` in POSIX terms): repair the data,
        /// then call `markConsistent()`.
        case acquiredPreviousOwnerDied
    }

    /// Attaches to a mutex that some process already initialized at `offset`.
    ///
    /// - Throws: `.layoutMismatch` if the bytes there hold no initialized mutex (zeros,
    ///   another structure, another version); `.misaligned`, `.outOfBounds`, `.readOnly`.
    public init(in region: any SharedRegion, at offset: Int) throws(SharedMemoryError) {
        try self.init(binding: region, at: offset, checkingHeader: true)
    }

    private init(binding region: any SharedRegion, at offset: Int, checkingHeader: Bool) throws(SharedMemoryError) {
        let base = try RegionSlot.pointer(
            to: UInt64.self, count: Self.byteCount / 8, at: offset, in: region, aligned: true, writing: true,
            operation: "ProcessMutex")
        self.region = region
        header = (base + ProcessMutexState.Field.header).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        state = (base + ProcessMutexState.Field.state).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        word = try FutexWord(in: region, at: offset + ProcessMutexState.Field.state)
        owner = ProcessMutexOwner(base: base)
        namespace = (base + ProcessMutexState.Field.pidNamespace).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        let mine = ThreadIdentity.current.pidNamespace
        // When initializing, the namespace is about to be this process's.
        var recorded = mine
        if checkingHeader {
            let found = header.pointee.load(ordering: .acquiring)  // orders the namespace's load after it
            guard found == ProcessMutexState.header else { throw Self.mismatch("ProcessMutex", region, found) }
            recorded = namespace.pointee.load(ordering: .relaxed)
        }
        namesThreads = mine != 0 && recorded == mine
    }

    /// Initializes a mutex at `offset`: unlocked, no owner, this process's pid namespace (the one
    /// whose thread ids the word will hold), then the header (magic and version) last, with a
    /// release store. Do it once, before any other process uses it; initializing a
    /// mutex someone holds frees it under their feet.
    public static func initialize(in region: any SharedRegion, at offset: Int) throws(SharedMemoryError) -> ProcessMutex {
        let mutex = try ProcessMutex(binding: region, at: offset, checkingHeader: false)
        mutex.header.pointee.store(0, ordering: .relaxed)
        mutex.owner.clear()
        mutex.state.pointee.store(0, ordering: .relaxed)
        mutex.namespace.pointee.store(ThreadIdentity.current.pidNamespace, ordering: .relaxed)
        try region.write([UInt8](repeating: 0, count: 8), at: offset + 56)
        mutex.header.pointee.store(ProcessMutexState.header, ordering: .releasing)
        return mutex
    }

    /// Blocks until the mutex is acquired: one compare-and-swap when it is free; when it is
    /// held, a short spin, then `futex(FUTEX_WAIT)` in slices of 100 ms, checking between them
    /// whether the holder died.
    ///
    /// - Throws: `.notRecoverable` if an owner died and nobody marked it consistent;
    ///   `.deadlock` if this thread holds it already; `.corrupted` if the state holds a value
    ///   this protocol never writes; `.layoutMismatch` if the mutex was overwritten.
    @discardableResult
    public func lock() throws(SharedMemoryError) -> Acquisition {
        // Without a deadline, only an acquisition ends the wait.
        try acquire("ProcessMutex.lock", waiting: true, timeout: nil) ?? .acquired
    }

    /// Acquires the mutex if it is free now, or if its holder is dead (checked with `tgkill`
    /// and `/proc`); `nil` if it is held.
    public func tryLock() throws(SharedMemoryError) -> Acquisition? {
        try acquire("ProcessMutex.tryLock", waiting: false, timeout: nil)
    }

    /// Waits at most `timeout` for the mutex (`futex(FUTEX_WAIT)` with a timeout); `nil` if
    /// it passed. Every wait is bounded by it, whatever another process writes into the mutex.
    public func lock(timeout: Duration) throws(SharedMemoryError) -> Acquisition? {
        try acquire("ProcessMutex.lock(timeout:)", waiting: true, timeout: timeout)
    }

    /// Releases the mutex: one atomic exchange, and `futex(FUTEX_WAKE)` only if someone waits.
    ///
    /// - Throws: `.permissionDenied` (`EPERM`) if this thread does not hold it.
    public func unlock() throws(SharedMemoryError) {
        let operation: StaticString = "ProcessMutex.unlock"
        try checkHeader(operation)
        let current = load()
        // The usual case, without a call: held by this thread (waiters or not), consistent, recorded.
        let me = ThreadIdentity.current
        if current.word & ~ProcessMutexState.waiters == holderWord(me), owner.names(me, asHolderOf: current) {
            let previous = ProcessMutexState(
                raw: state.pointee.exchange(current.with(word: 0).raw, ordering: .acquiringAndReleasing))
            if previous.word & ProcessMutexState.waiters != 0 { word.wake(count: 1) }
            return
        }
        try unlockSlowly(operation, current)
    }

    private func unlockSlowly(_ operation: StaticString, _ current: ProcessMutexState) throws(SharedMemoryError) {
        guard case .held(let named, _, let inconsistent) = try phase(of: current, operation),
            try verdict(on: holder(of: current, named: named, operation), me: ThreadIdentity.current, checking: false)
                == .me
        else { throw notHeld(operation) }
        if inconsistent {
            // Unlocked unrepaired after an owner died: unusable for good, and every waiter must learn it.
            state.pointee.store(current.with(word: ProcessMutexState.notRecoverable).raw, ordering: .releasing)
            word.wakeAll()
            return
        }
        let previous = ProcessMutexState(
            raw: state.pointee.exchange(current.with(word: 0).raw, ordering: .acquiringAndReleasing))
        if previous.word & ProcessMutexState.waiters != 0 { word.wake(count: 1) }
    }

    /// Declares the protected data repaired after `.acquiredPreviousOwnerDied`; call it before
    /// `unlock()`.
    ///
    /// - Throws: `.invalidArgument` (`EINVAL`) unless this thread holds the mutex after an
    ///   owner died and has not marked it consistent yet.
    public func markConsistent() throws(SharedMemoryError) {
        let operation: StaticString = "ProcessMutex.markConsistent"
        try checkHeader(operation)
        while true {
            let current = load()
            guard case .held(let named, _, inconsistent: true) = try phase(of: current, operation),
                try verdict(on: holder(of: current, named: named, operation), me: ThreadIdentity.current, checking: false)
                    == .me
            else {
                throw SharedMemoryError(
                    code: .invalidArgument, operation: "\(operation)", address: region.address.description,
                    errno: .invalidArgument,
                    message: "this thread does not hold the mutex after its previous owner died",
                    hint: "call markConsistent() only after lock() returned .acquiredPreviousOwnerDied, before unlock()")
            }
            if exchange(current, current.with(word: current.word & ~ProcessMutexState.inconsistent)) { return }
        }
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

    // MARK: The protocol (ProcessMutex.pml models it)

    @inline(__always)
    private func acquire(_ operation: StaticString, waiting: Bool, timeout: Duration?) throws(SharedMemoryError)
        -> Acquisition?
    {
        try checkHeader(operation)
        let me = ThreadIdentity.current
        let current = load()
        if current.word == 0 {
            // The word names this thread from the instant it is taken: a holder killed before
            // its record is written is still found dead.
            let taken = current.acquired(as: holderWord(me))
            if exchange(current, taken) {
                owner.record(me, holding: taken)
                return .acquired
            }
        }
        return try acquireContended(operation, me, waiting: waiting, timeout: timeout)
    }

    private func acquireContended(_ operation: StaticString, _ me: ThreadIdentity, waiting: Bool, timeout: Duration?)
        throws(SharedMemoryError) -> Acquisition?
    {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        var spins = waiting ? Self.spins : 0
        // After a sleep, take the lock as contended: other sleepers may remain, and the next
        // unlock must wake one of them.
        var slept = false
        var sliceEnded = false
        while true {
            let current = load()
            switch try phase(of: current, operation) {
            case .notRecoverable:
                throw notRecoverable(operation)
            case .free:
                let taken = current.acquired(as: holderWord(me) | (slept ? ProcessMutexState.waiters : 0))
                if exchange(current, taken) {
                    owner.record(me, holding: taken)
                    return .acquired
                }
            case .held(let named, let waiters, _):
                if spins > 0 {
                    spins -= 1
                    continue
                }
                let remaining = deadline.map { clock.now.duration(to: $0) }
                let mayWait = waiting && (remaining ?? .seconds(1)) > .zero
                // Checking whether the holder lives costs syscalls: once per slice, or before giving up.
                let checking = sliceEnded || !mayWait
                sliceEnded = false
                switch try verdict(on: holder(of: current, named: named, operation), me: me, checking: checking) {
                case .me:
                    throw deadlock(operation)
                case .dead:
                    // From exactly the state judged: a holder that let go meanwhile is never robbed.
                    let taken = current.acquired(
                        as: holderWord(me) | ProcessMutexState.waiters | ProcessMutexState.inconsistent)
                    if exchange(current, taken) {
                        owner.record(me, holding: taken)
                        return .acquiredPreviousOwnerDied
                    }
                    continue
                case .alive:
                    if !mayWait { return nil }
                }
                let sleeping = current.with(word: current.word | ProcessMutexState.waiters)
                if !waiters && !exchange(current, sleeping) { continue }
                slept = true
                let slice = min(remaining ?? Self.ownerCheckInterval, Self.ownerCheckInterval)
                sliceEnded = try word.wait(whileValueIs: sleeping.word, timeout: slice) == .timedOut
            }
        }
    }

    /// What this thread puts in the word's holder bits: its thread id where the mutex's pid
    /// namespace gives it a meaning, `anonymous` elsewhere.
    @inline(__always)
    private func holderWord(_ me: ThreadIdentity) -> UInt32 {
        namesThreads ? UInt32(truncatingIfNeeded: me.tid) : ProcessMutexState.anonymous
    }

    @inline(__always)
    private func load() -> ProcessMutexState {
        ProcessMutexState(raw: state.pointee.load(ordering: .acquiring))
    }

    @inline(__always)
    private func exchange(_ expected: ProcessMutexState, _ desired: ProcessMutexState) -> Bool {
        state.pointee.compareExchange(expected: expected.raw, desired: desired.raw, ordering: .acquiringAndReleasing)
            .exchanged
    }

    // MARK: Checks of what the region holds

    @inline(__always)
    private func checkHeader(_ operation: StaticString) throws(SharedMemoryError) {
        let found = header.pointee.load(ordering: .acquiring)
        guard found == ProcessMutexState.header else { throw Self.mismatch(operation, region, found) }
    }

    private func phase(of current: ProcessMutexState, _ operation: StaticString) throws(SharedMemoryError)
        -> ProcessMutexState.Phase
    {
        guard let phase = current.phase else {
            throw .corrupted(
                "\(operation)", region.address, field: "the mutex's state word", value: current.word,
                rule: "only 0 (free), 0x40000000 (not recoverable) and a holder occur: a thread id from 1 to "
                    + "\(ThreadIdentity.maximumID) or 0x3fffffff, with the owner-died (0x40000000) and waiters "
                    + "(0x80000000) bits")
        }
        return phase
    }

    /// Who holds `current`, as far as this process can tell. `named` is the word's holder bits.
    private enum Holder {
        /// The owner record of `current`'s generation.
        case recorded(ThreadIdentity)
        /// A thread of this pid namespace, named by the word, that has not recorded itself (yet).
        case unrecorded(tid: Int32)
        /// An anonymous holder that has not recorded itself (yet): nothing can be checked.
        case unknown
    }

    private enum Verdict {
        case me, alive, dead
    }

    /// The holder of `current`, checked: the record of its generation if written, else the word's thread id.
    private func holder(of current: ProcessMutexState, named: UInt32, _ operation: StaticString)
        throws(SharedMemoryError) -> Holder
    {
        guard let holder = owner.identity(of: current, state: state) else {
            return named != ProcessMutexState.anonymous && namesThreads ? .unrecorded(tid: Int32(named)) : .unknown
        }
        let valid = 1...ThreadIdentity.maximumID
        guard valid ~= holder.pid, valid ~= holder.tid else {
            let (field, value) = valid ~= holder.pid ? ("ownerTID", holder.tid) : ("ownerPID", holder.pid)
            throw .corrupted(
                "\(operation)", region.address, field: "the mutex's \(field)", value: value,
                rule: "Linux ids lie between 1 and \(ThreadIdentity.maximumID)")
        }
        guard named == ProcessMutexState.anonymous || Int32(named) == holder.tid else {
            throw .corrupted(
                "\(operation)", region.address, field: "the mutex's ownerTID", value: holder.tid,
                rule: "the owner record names the thread the state word names (\(named))")
        }
        return .recorded(holder)
    }

    /// Whether `holder` is this thread, or (when `checking`, with syscalls) has ended.
    private func verdict(on holder: Holder, me: ThreadIdentity, checking: Bool) -> Verdict {
        switch holder {
        case .recorded(let identity):
            if identity == me { return .me }
            return checking && identity.hasEnded ? .dead : .alive
        case .unrecorded(let tid):
            // This thread records itself before lock() returns: a word naming it without a record
            // was taken by an earlier thread of the same number, which died before recording.
            if tid == me.tid { return .dead }
            return checking && ThreadIdentity.threadHasEnded(tid: tid) ? .dead : .alive
        case .unknown:
            return .alive
        }
    }

    // MARK: Errors

    private static func mismatch(_ operation: StaticString, _ region: any SharedRegion, _ found: UInt64)
        -> SharedMemoryError
    {
        let problem =
            found == 0
            ? "its header is zero: no mutex was initialized there"
            : UInt32(truncatingIfNeeded: found) == ProcessMutexState.magic
                ? "it is version \(found >> 32) of the mutex, not \(ProcessMutexState.version)"
                : "its header is 0x\(String(found, radix: 16)), not a mutex's (0x\(String(ProcessMutexState.header, radix: 16)))"
        return SharedMemoryError(
            code: .layoutMismatch, operation: "\(operation)", address: region.address.description,
            message: "no ProcessMutex at this offset: \(problem)",
            hint: "initialize it once with ProcessMutex.initialize(in:at:) before other processes attach, "
                + "and check that every process uses the same offset")
    }

    private func notRecoverable(_ operation: StaticString) -> SharedMemoryError {
        SharedMemoryError(
            code: .notRecoverable, operation: "\(operation)", address: region.address.description,
            errno: .notRecoverable,
            message: "an owner died holding the mutex and it was unlocked without markConsistent()",
            hint: "its owner died and nobody marked it consistent; initialize a new mutex "
                + "(ProcessMutex.initialize) once no process uses this one")
    }

    private func deadlock(_ operation: StaticString) -> SharedMemoryError {
        SharedMemoryError(
            code: .deadlock, operation: "\(operation)", address: region.address.description, errno: .deadlock,
            message: "this thread holds the mutex already",
            hint: "ProcessMutex is not recursive: unlock it before locking it again")
    }

    private func notHeld(_ operation: StaticString) -> SharedMemoryError {
        SharedMemoryError(
            code: .permissionDenied, operation: "\(operation)", address: region.address.description,
            errno: .notPermitted, message: "this thread does not hold the mutex",
            hint: "unlock from the thread that locked it; a Swift task may resume on another thread after await")
    }
}
