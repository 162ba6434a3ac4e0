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
        ProcessIdentity(pid: getpid(), startTime: statFields(of: getpid())?.startTime ?? 0)
    }

    /// The low 32 bits of `startTime`, which is what a 64-bit atomic word shared with a pid
    /// has room for (the once-only header's state word).
    var startTimeLowBits: UInt32 { UInt32(truncatingIfNeeded: startTime) }

    /// Whether the process that recorded `pid` and the low 32 bits of its start time still
    /// runs: the pid exists (`kill(pid, 0)`; `EPERM` means it exists under another user), is
    /// not a zombie, and, when both are known (not 0), started at a time with those low bits.
    /// A live process with another start time is another one that got the pid, or a peer's
    /// lie: either way not the recorder. Only a pid reused exactly 2^32 clock ticks later
    /// (497 days at 100 Hz) would pass for it.
    static func isAlive(pid: Int32, startTimeLowBits recorded: UInt32) -> Bool {
        guard pid > 0, case .running(let started) = presence(of: pid) else { return false }
        guard recorded != 0, let started else { return true }
        return UInt32(truncatingIfNeeded: started) == recorded
    }

    /// Whether the process that created an object still runs, when only its pid and the
    /// object's creation time (seconds since the epoch) are known: a process with that pid
    /// that started after the object was made is another one that got the number again.
    /// `nil` when the pid is unknown (0: the creator lived in another pid namespace).
    static func isAlive(pid: Int32, createdAt creation: Int?) -> Bool? {
        guard pid > 0 else { return nil }
        guard case .running(let started) = presence(of: pid) else { return false }
        if let creation, let started, let boot = bootTime,
            boot + Int(started) / Int(sysconf(Int32(_SC_CLK_TCK))) > creation + 1
        {
            return false  // +1: btime and the creation time are rounded to seconds
        }
        return true
    }

    private enum Presence {
        case gone
        /// Running, with its start time in clock ticks since boot where `/proc` shows it.
        case running(startTime: UInt64?)
    }

    /// No such pid (`ESRCH`), or a zombie, is gone.
    private static func presence(of pid: Int32) -> Presence {
        if case .failure(.noSuchProcess) = SystemCall.value({ kill(pid, 0) }) { return .gone }
        guard let fields = statFields(of: pid) else { return .running(startTime: nil) }
        if fields.state == "Z" || fields.state == "X" { return .gone }  // dead, not yet reaped
        return .running(startTime: fields.startTime)
    }

    /// When this machine booted, seconds since the epoch (`btime` in `/proc/stat`).
    private static let bootTime: Int? = {
        guard let stat = SystemFile.contents("/proc/stat") else { return nil }
        let line = stat.split(separator: "\n").first { $0.hasPrefix("btime ") }
        return line.flatMap { Int($0.dropFirst(6)) }
    }()

    /// The state (field 3) and start time (field 22) from `/proc/PID/stat`.
    private static func statFields(of pid: Int32) -> (state: Substring, startTime: UInt64)? {
        statFields(atPath: "/proc/\(pid)/stat")
    }

    /// The same fields from any `stat` file of `/proc` (a thread's: `/proc/PID/task/TID/stat`).
    static func statFields(atPath path: String) -> (state: Substring, startTime: UInt64)? {
        guard let stat = SystemFile.contents(path),
            let end = stat.lastIndex(of: ")")  // the command name may itself hold spaces and ')'
        else { return nil }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        // fields[0] is field 3, so field 22 is fields[19].
        guard fields.count > 19, let startTime = UInt64(fields[19]) else { return nil }
        return (fields[0], startTime)
    }
}
