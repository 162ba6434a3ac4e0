#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims

/// A thread as a lock records its owner: integers only, which another process can check
/// without trusting them (nothing here is ever followed as an address).
struct ThreadIdentity: Hashable {
    /// Its process (`getpid`).
    var pid: Int32
    /// The thread (`gettid`); the main thread's equals `pid`.
    var tid: Int32
    /// Clock ticks since boot when the thread started (`/proc/PID/task/TID/stat`, field 22), so
    /// that a reused thread id is not mistaken for the owner; 0 if unknown.
    var startTime: UInt64
    /// The inode of `/proc/self/ns/pid`: pids mean something only inside one pid namespace. 0 if unknown.
    var pidNamespace: UInt64

    /// The highest pid or thread id Linux hands out (`PID_MAX_LIMIT` on 64-bit systems).
    static let maximumID: Int32 = 4_194_304

    /// The calling thread, cached in a thread-local record of the C shim: the first use in a
    /// thread costs a few syscalls, every later one none.
    static var current: ThreadIdentity {
        let record = CSharedMemoryShims_thread_identity()!
        if record.pointee.tid == 0 { fill(record) }
        return ThreadIdentity(
            pid: record.pointee.pid, tid: record.pointee.tid, startTime: record.pointee.start_time,
            pidNamespace: record.pointee.pid_namespace)
    }

    private static func fill(_ record: UnsafeMutablePointer<CSharedMemoryShims_thread_identity>) {
        CSharedMemoryShims_forget_identity_on_fork()
        let pid = getpid()
        let tid = Int32(truncatingIfNeeded: CSharedMemoryShims_gettid())
        var namespace = stat()
        let namespaceKnown = SystemCall.value { stat("/proc/self/ns/pid", &namespace) }
        record.pointee.pid = pid
        record.pointee.start_time = ProcessIdentity.statFields(atPath: "/proc/\(pid)/task/\(tid)/stat")?.startTime ?? 0
        record.pointee.pid_namespace = (try? namespaceKnown.get()) == nil ? 0 : UInt64(namespace.st_ino)
        record.pointee.tid = tid  // last: a non-zero tid marks the record filled
    }

    /// Whether this thread is known to have ended, as seen from this process: `tgkill(pid, tid, 0)`
    /// finds no such thread (`ESRCH`), or `/proc` shows it dead but not yet reaped, or shows a
    /// thread of that number that started at another time (the number was reused).
    ///
    /// `false` whenever that cannot be proved: another or an unknown pid namespace (its numbers
    /// mean other threads here), or ids outside what Linux hands out.
    var hasEnded: Bool {
        guard pidNamespace != 0, pidNamespace == Self.current.pidNamespace,
            1...Self.maximumID ~= pid, 1...Self.maximumID ~= tid
        else { return false }
        if case .failure(.noSuchProcess) = SystemCall.value({ CSharedMemoryShims_tgkill(pid, tid, 0) }) { return true }
        guard let fields = ProcessIdentity.statFields(atPath: "/proc/\(pid)/task/\(tid)/stat") else {
            return false  // gone between the two calls, or /proc hides it: the next check tells
        }
        return fields.state == "Z" || fields.state == "X" || (startTime != 0 && fields.startTime != startTime)
    }

    /// Whether the thread numbered `tid` in this process's pid namespace is known to have ended,
    /// when only its number is known: `kill(tid, 0)` finds no thread of that number (`ESRCH`; Linux
    /// looks any thread up by its id there, not only a process's first), or `/proc/TID/task/TID/stat`
    /// shows it dead but not yet reaped. A live thread of that number counts as the same thread.
    static func threadHasEnded(tid: Int32) -> Bool {
        guard 1...maximumID ~= tid else { return false }
        if case .failure(.noSuchProcess) = SystemCall.value({ kill(tid, 0) }) { return true }
        guard let fields = ProcessIdentity.statFields(atPath: "/proc/\(tid)/task/\(tid)/stat") else { return false }
        return fields.state == "Z" || fields.state == "X"
    }
}
