#if canImport(Glibc)
import Glibc
#endif

/// Whether the process that created an object still runs.
enum ProcessLiveness {
    /// `kill(pid, 0)`: `ESRCH` means no such process (`EPERM` means one we may not signal,
    /// alive). Where the object's creation time is known, a process with that pid that
    /// started after it is another process that got the number again: the creator is gone.
    /// `nil` when the pid is unknown (0: the creator lived in another pid namespace).
    static func isAlive(_ pid: Int32, createdAt creation: Int?) -> Bool? {
        guard pid > 0 else { return nil }
        if case .failure(.noSuchProcess) = SystemCall.value({ kill(pid, 0) }) { return false }
        if let creation, let started = startTime(of: pid), started > creation + 1 {
            return false  // +1: btime and the start time are rounded to seconds
        }
        return true
    }

    /// When `pid` started, in seconds since the epoch: `starttime` (clock ticks since boot,
    /// field 22 of `/proc/PID/stat`) plus `btime` from `/proc/stat`.
    private static func startTime(of pid: Int32) -> Int? {
        // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
        guard let stat = SystemFile.contents("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(whereSeparator: \.isWhitespace)
        guard fields.count > 19, let ticks = Int(fields[19]), let boot = bootTime else { return nil }
        return boot + ticks / Int(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static let bootTime: Int? = {
        guard let stat = SystemFile.contents("/proc/stat") else { return nil }
        let line = stat.split(separator: "\n").first { $0.hasPrefix("btime ") }
        return line.flatMap { Int($0.dropFirst(6)) }
    }()
}
