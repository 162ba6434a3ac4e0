/// The bytes of a `ProcessMutex` and the state word at their heart, as every process (and a
/// C program, see Docs/Interop.md) reads them. Integers only: nothing in them is an address.
///
/// ```
/// offset  type    field
///  0      UInt64  header: magic 0x4B4C4D53 ("SMLK") in the low half, version 2 in the high half
///  8      UInt64  state: the futex word in the low half, the generation in the high half
/// 16      UInt32  ownerGeneration: the generation the owner fields below belong to
/// 20      UInt32  (zero)
/// 24      Int32   ownerPID
/// 28      Int32   ownerTID
/// 32      UInt64  ownerStartTime: clock ticks since boot (/proc/PID/task/TID/stat, field 22)
/// 40      UInt64  ownerPIDNamespace: the inode of /proc/PID/ns/pid
/// 48      UInt64  pidNamespace: the inode of the initializer's /proc/self/ns/pid, whose thread
///                 ids the futex word holds
/// 56      8 bytes of zero
/// ```
///
/// The futex word names its holder, as Linux's robust futexes do: the holder's thread id, put
/// there by the very compare-and-swap that takes the lock. So a holder killed before it wrote
/// its owner record is still named, and can be found dead.
struct ProcessMutexState: Hashable {
    static let byteCount = 64
    static let alignment = 8

    enum Field {
        static let header = 0
        static let state = 8
        static let ownerGeneration = 16
        static let ownerThread = 24  // pid and tid, written as one UInt64
        static let ownerStartTime = 32
        static let ownerPIDNamespace = 40
        static let pidNamespace = 48
    }

    static let magic: UInt32 = 0x4B4C_4D53
    /// 1 had a locked bit where the holder's thread id now is: the two refuse each other
    /// (`.layoutMismatch`) rather than misread each other's words.
    static let version: UInt32 = 2
    static let header = UInt64(version) << 32 | UInt64(magic)

    /// The futex word's low 30 bits: who holds it. 0 when free; the holder's thread id when the
    /// holder runs in the pid namespace the mutex records; `anonymous` for a holder of another
    /// (or an unknown) pid namespace, whose thread ids mean other threads here.
    static let holderMask: UInt32 = 0x3FFF_FFFF
    static let anonymous: UInt32 = holderMask
    /// The holder took the lock over from an owner that died, and has not called `markConsistent`
    /// (Linux's `FUTEX_OWNER_DIED`).
    static let inconsistent: UInt32 = 0x4000_0000
    /// Someone may sleep on the word: the unlocker must wake one (Linux's `FUTEX_WAITERS`).
    static let waiters: UInt32 = 0x8000_0000
    /// Unlocked while inconsistent, so nobody can take it again: the owner-died bit with no holder.
    static let notRecoverable: UInt32 = inconsistent

    let raw: UInt64

    init(raw: UInt64) { self.raw = raw }

    init(word: UInt32, generation: UInt32) {
        raw = UInt64(generation) << 32 | UInt64(word)
    }

    /// The low half, on which waiters sleep (Linux on x86-64 and AArch64 is little-endian).
    var word: UInt32 { UInt32(truncatingIfNeeded: raw) }
    /// Counts acquisitions (wrapping), so that owner fields from an earlier holder are never
    /// taken for the current one's.
    var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) }

    enum Phase: Hashable {
        case free
        /// `holder` is a thread id (1...ThreadIdentity.maximumID) or `anonymous`.
        case held(holder: UInt32, waiters: Bool, inconsistent: Bool)
        case notRecoverable
    }

    /// What the word says, or `nil` for a value the protocol never writes.
    var phase: Phase? {
        let holder = word & Self.holderMask
        switch word {
        case 0: return .free
        case Self.notRecoverable: return .notRecoverable
        default:
            guard holder == Self.anonymous || 1...UInt32(ThreadIdentity.maximumID) ~= holder else { return nil }
            return .held(holder: holder, waiters: word & Self.waiters != 0, inconsistent: word & Self.inconsistent != 0)
        }
    }

    /// The state after acquiring this one with `word`: the next generation.
    func acquired(as word: UInt32) -> ProcessMutexState {
        ProcessMutexState(word: word, generation: generation &+ 1)
    }

    func with(word: UInt32) -> ProcessMutexState {
        ProcessMutexState(word: word, generation: generation)
    }
}
