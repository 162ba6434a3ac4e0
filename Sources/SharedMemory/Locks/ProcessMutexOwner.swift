import Synchronization

/// Who holds a `ProcessMutex`, in full: the holder writes its identity just after it took the
/// state word, and tags it with the generation it took, last. A reader therefore tells the record
/// of the current holder apart from an earlier holder's, or from one not written yet.
///
/// Until the tag is written, the state word alone names the holder (its thread id, set by the
/// compare-and-swap that took it), so a holder killed in between is still found dead; the record
/// adds what the thread id cannot tell: the pid for `tgkill`, the start time that tells a reused
/// thread id apart, and the pid namespace. The Spin model (ProcessMutex.pml) checks a kill at
/// every step.
struct ProcessMutexOwner {
    private let generation: UnsafeMutablePointer<Atomic<UInt32>>
    private let thread: UnsafeMutablePointer<Atomic<UInt64>>
    private let startTime: UnsafeMutablePointer<Atomic<UInt64>>
    private let pidNamespace: UnsafeMutablePointer<Atomic<UInt64>>

    /// `base` is the mutex's first byte, aligned for `UInt64` (checked by the caller).
    init(base: UnsafeMutableRawPointer) {
        typealias Field = ProcessMutexState.Field
        generation = (base + Field.ownerGeneration).bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        thread = (base + Field.ownerThread).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        startTime = (base + Field.ownerStartTime).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        pidNamespace = (base + Field.ownerPIDNamespace).bindMemory(to: Atomic<UInt64>.self, capacity: 1)
    }

    /// Records `me` as the holder of `taken`. Release stores: whoever reads a field written
    /// here also sees the state word that made `me` the holder.
    @inline(__always)
    func record(_ me: ThreadIdentity, holding taken: ProcessMutexState) {
        thread.pointee.store(Self.packed(me), ordering: .releasing)
        startTime.pointee.store(me.startTime, ordering: .releasing)
        pidNamespace.pointee.store(me.pidNamespace, ordering: .releasing)
        generation.pointee.store(taken.generation, ordering: .releasing)
    }

    /// The identity recorded for the holder of `held`, or `nil` if the record is not (yet) its
    /// holder's. `state` is read again: if its generation is still `held`'s after the fields were
    /// read, no later holder can have written them (a later holder takes the word, with the next
    /// generation, before it writes).
    @inline(__always)
    func identity(of held: ProcessMutexState, state: UnsafeMutablePointer<Atomic<UInt64>>) -> ThreadIdentity? {
        guard generation.pointee.load(ordering: .acquiring) == held.generation else { return nil }
        let ids = thread.pointee.load(ordering: .acquiring)
        let identity = ThreadIdentity(
            pid: Int32(bitPattern: UInt32(truncatingIfNeeded: ids)),
            tid: Int32(bitPattern: UInt32(truncatingIfNeeded: ids >> 32)),
            startTime: startTime.pointee.load(ordering: .acquiring),
            pidNamespace: pidNamespace.pointee.load(ordering: .acquiring))
        let now = ProcessMutexState(raw: state.pointee.load(ordering: .acquiring))
        return now.generation == held.generation ? identity : nil
    }

    /// Whether the record is `me`'s, as the holder of `held`. No second read of the state is
    /// needed: a record of `held`'s generation naming `me` was written by `me`, and nobody else
    /// writes it while `me` holds the mutex.
    @inline(__always)
    func names(_ me: ThreadIdentity, asHolderOf held: ProcessMutexState) -> Bool {
        generation.pointee.load(ordering: .acquiring) == held.generation
            && thread.pointee.load(ordering: .acquiring) == Self.packed(me)
            && startTime.pointee.load(ordering: .acquiring) == me.startTime
            && pidNamespace.pointee.load(ordering: .acquiring) == me.pidNamespace
    }

    @inline(__always)
    private static func packed(_ me: ThreadIdentity) -> UInt64 {
        UInt64(UInt32(bitPattern: me.tid)) << 32 | UInt64(UInt32(bitPattern: me.pid))
    }

    /// Forgets every holder (for `ProcessMutex.initialize`).
    func clear() {
        thread.pointee.store(0, ordering: .relaxed)
        startTime.pointee.store(0, ordering: .relaxed)
        pidNamespace.pointee.store(0, ordering: .relaxed)
        generation.pointee.store(0, ordering: .relaxed)
    }
}
