/// The bytes of a `ProcessMutex` and the state word at their heart, as every process (and a
/// C program, see Docs/Interop.md) reads them. Integers only: nothing in them is an address.
///
/// ```
/// offset  type    field
///  0      UInt64  header: magic 0x4B4C4D53 ("SMLK") in the low half, version 1 in the high half
///  8      UInt64  state: the futex word in the low half, the generation in the high half
/// 16      UInt32  ownerGeneration: the generation the owner fields below belong to
/// 20      UInt32  (zero)
/// 24      Int32   ownerPID
/// 28      Int32   ownerTID
/// 32      UInt64  ownerStartTime: clock ticks since boot (/proc/PID/task/TID/stat, field 22)
/// 40      UInt64  ownerPIDNamespace: the inode of /proc/PID/ns/pid
/// 48      16 bytes of zero
/// ```
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
    }

    static let magic: UInt32 = 0x4B4C_4D53
    static let version: UInt32 = 1
    static let header = UInt64(version) << 32 | UInt64(magic)

    /// The futex word's bits. Only 0, locked, locked+waiters, locked+inconsistent,
    /// locked+waiters+inconsistent and notRecoverable ever occur.
    static let locked: UInt32 = 1
    /// Someone may sleep on the word: the unlocker must wake one.
    static let waiters: UInt32 = 2
    /// The holder took the lock over from an owner that died, and has not called `markConsistent`.
    static let inconsistent: UInt32 = 4
    /// Unlocked while inconsistent: nobody can take it again.
    static let notRecoverable: UInt32 = 8

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
        case held(waiters: Bool, inconsistent: Bool)
        case notRecoverable
    }

    /// What the word says, or `nil` for a value the protocol never writes.
    var phase: Phase? {
        switch word {
        case 0: .free
        case Self.notRecoverable: .notRecoverable
        case let word where word & ~(Self.locked | Self.waiters | Self.inconsistent) == 0 && word & Self.locked != 0:
            .held(waiters: word & Self.waiters != 0, inconsistent: word & Self.inconsistent != 0)
        default: nil
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
