#if canImport(Glibc)
import Glibc
#endif

/// A process as something that can die: its pid, and its start time so that a pid the
/// kernel reused for another process is not mistaken for the original.
struct ProcessIdentity: Hashable {
    let pid: Int32
    /// Clock ticks since boot when the process started (`/proc/PID/stat`, field 22); 0 if unknown.
    let startTime: UInt64

    static var current: ProcessIdentity {
        ProcessIdentity(pid: getpid(), startTime: startTime(of: getpid()) ?? 0)
    }

    /// Whether this very process still runs: the pid exists (`kill(pid, 0)`; `EPERM` means
    /// it exists under another user), is not a zombie, and, when both are known, started at
    /// the same time.
    var isAlive: Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno != EPERM { return false }
        guard let fields = Self.statFields(of: pid) else { return true }
        if fields.state == "Z" || fields.state == "X" { return false }  // dead, not yet reaped
        return startTime == 0 || fields.startTime == startTime
    }

    static func startTime(of pid: Int32) -> UInt64? {
        statFields(of: pid)?.startTime
    }

    /// The state (field 3) and start time (field 22) from `/proc/PID/stat`.
    private static func statFields(of pid: Int32) -> (state: Substring, startTime: UInt64)? {
        guard let stat = SystemFile.contents("/proc/\(pid)/stat"),
            let end = stat.lastIndex(of: ")")  // the command name may itself hold spaces and ')'
        else { return nil }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        // fields[0] is field 3, so field 22 is fields[19].
        guard fields.count > 19, let startTime = UInt64(fields[19]) else { return nil }
        return (fields[0], startTime)
    }
}
