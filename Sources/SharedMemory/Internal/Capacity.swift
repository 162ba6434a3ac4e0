#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// What the system can give, so that asking for too much is a typed error naming the limit
/// and leaves nothing behind. Where the kernel refuses cleanly (a full filesystem, a System V
/// limit), the limit is looked up only after the refusal, keeping `/proc` and `statvfs` off
/// the success path; a large memfd is checked before, because `fallocate` on its tmpfs, which
/// has no size limit, would take memory until the OOM killer ends the process.
enum Capacity {
    /// Refuses reserving `byteCount` bytes where there is less room than that.
    static func checkReservation(of byteCount: Int, _ address: RegionAddress) throws(SharedMemoryError) {
        if case .memfd = address, byteCount <= freeMemoryAtLeast() { return }  // without /proc
        guard let (available, place) = address.backend.driver.room(for: address), byteCount > available else { return }
        throw SharedMemoryError(
            code: .noSpace, operation: "fallocate", address: address.description,
            message: "\(byteCount) bytes asked, but \(place) has \(available) available",
            hint: "ask for at most \(available) bytes, or free space in \(place)")
    }

    /// Free space in the filesystem that holds `directory` (`statvfs`).
    static func freeSpace(of directory: String) -> (Int, String)? {
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return nil }
        return (Int(info.f_bavail) * Int(info.f_frsize), directory)
    }

    /// Checks a memfd reservation before `fallocate`, if it is large enough (1/64 of the RAM)
    /// to matter: a smaller one cannot exhaust the memory by itself.
    static func checkMemfdReservation(of byteCount: Int, _ address: RegionAddress) throws(SharedMemoryError) {
        if byteCount >= physicalMemory / 64 { try checkReservation(of: byteCount, address) }
    }

    private static let physicalMemory = max(0, sysconf(Int32(_SC_PHYS_PAGES))) * PageSize.bytes

    /// Free RAM (`sysconf(_SC_AVPHYS_PAGES)`, one `sysinfo` call): a lower bound of what a
    /// memfd can take, without parsing `/proc/meminfo`.
    private static func freeMemoryAtLeast() -> Int {
        max(0, sysconf(Int32(_SC_AVPHYS_PAGES))) * PageSize.bytes
    }

    /// `MemAvailable + SwapFree` from `/proc/meminfo`: what a memfd can take.
    static func availableMemory() -> (Int, String)? {
        guard let table = SystemFile.contents("/proc/meminfo") else { return nil }
        var total = 0
        for line in table.split(separator: "\n") where line.hasPrefix("MemAvailable:") || line.hasPrefix("SwapFree:") {
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count >= 2, let kibibytes = Int(fields[1]) else { return nil }
            total += kibibytes * 1024
        }
        return (total, "memory (MemAvailable + SwapFree)")
    }
}

/// The System V shared-memory limits of this IPC namespace (`/proc/sys/kernel/shm*`); a limit
/// that cannot be read is not named (the kernel still enforces it).
struct SystemVLimits {
    var shmmax: UInt64?
    /// In pages.
    var shmall: UInt64?
    var shmmni: Int?

    static func current() -> SystemVLimits {
        func number(_ name: String) -> UInt64? {
            SystemFile.contents("/proc/sys/kernel/" + name).flatMap { UInt64($0.trimmingWhitespace) }
        }
        return SystemVLimits(shmmax: number("shmmax"), shmall: number("shmall"), shmmni: number("shmmni").map { Int(clamping: $0) })
    }
}

extension Capacity {
    /// Names the limit that refuses a new segment of `byteCount` bytes: `shmmax`, `shmall`
    /// (pages, counting the segments that exist) or `shmmni` (segments); and, when the kernel
    /// said `ENOMEM` within those, the memory it could not commit. Called when `shmget` fails
    /// with `refusal`, so that the success path reads no `/proc` file.
    static func checkSystemVSegment(
        of byteCount: Int, _ address: RegionAddress, refusal: Errno, limits: SystemVLimits = .current(),
        existing: [SystemVTable.Segment] = SystemVTable.segments()
    ) throws(SharedMemoryError) {
        if let shmmax = limits.shmmax, UInt64(byteCount) > shmmax {
            throw limit(address, "shmget", "\(byteCount) bytes asked, but kernel.shmmax is \(shmmax)", "shmmax", "\(byteCount)")
        }
        if let shmall = limits.shmall {
            let pages = { (bytes: Int) in UInt64(PageSize.roundUp(bytes) / PageSize.bytes) }
            let used = existing.reduce(UInt64(0)) { $0 &+ pages($1.byteCount) }
            if used &+ pages(byteCount) > shmall {
                throw limit(
                    address, "shmget",
                    "\(pages(byteCount)) pages asked, \(used) in use, but kernel.shmall is \(shmall) pages",
                    "shmall", "\(used + pages(byteCount))")
            }
        }
        if let shmmni = limits.shmmni, existing.count >= shmmni {
            throw limit(address, "shmget", "\(existing.count) segments exist and kernel.shmmni is \(shmmni)", "shmmni", "\(existing.count + 1)")
        }
        if refusal == .noMemory {
            // Within the limits: the kernel's memory accounting (vm.overcommit_memory) refused it.
            let within = [
                limits.shmmax.map { "kernel.shmmax (\($0) bytes)" }, limits.shmall.map { "kernel.shmall (\($0) pages)" },
            ].compactMap { $0 }.joined(separator: " and ")
            let memory = availableMemory()
            throw SharedMemoryError(
                code: .noSpace, operation: "shmget", address: address.description, errno: refusal,
                message: "the kernel cannot commit memory for \(byteCount) bytes"
                    + (within.isEmpty ? "" : ", although that is within \(within)")
                    + (memory.map { ": \($0.1) is \($0.0) bytes" } ?? ""),
                hint: "ask for at most \(memory.map { "\($0.0) bytes" } ?? "the memory free"), free memory, or let the "
                    + "kernel overcommit (sysctl vm.overcommit_memory=1); the System V limits are in "
                    + "/proc/sys/kernel/shmmax and shmall")
        }
    }

    /// Names the limit that refuses a new set of `count` semaphores: `SEMMSL` (per set),
    /// `SEMMNS` (in the system, counting the sets that exist) or `SEMMNI` (sets). Called when
    /// `semget` fails.
    static func checkSemaphoreSet(
        of count: Int, _ address: RegionAddress, limits: SemaphoreLimits? = .current(),
        existing: [SystemVTable.SemaphoreSet] = SystemVTable.semaphoreSets()
    ) throws(SharedMemoryError) {
        guard let limits else { return }
        if count > limits.semaphoresPerSet {
            throw limit(address, "semget", "\(count) semaphores asked, but SEMMSL (per set) is \(limits.semaphoresPerSet)", "sem", "SEMMSL")
        }
        let used = existing.reduce(0) { $0 + $1.count }
        if used + count > limits.semaphoresInSystem {
            throw limit(
                address, "semget", "\(count) semaphores asked, \(used) in use, but SEMMNS is \(limits.semaphoresInSystem)", "sem",
                "SEMMNS")
        }
        if existing.count >= limits.sets {
            throw limit(address, "semget", "\(existing.count) semaphore sets exist and SEMMNI is \(limits.sets)", "sem", "SEMMNI")
        }
    }

    private static func limit(
        _ address: RegionAddress, _ operation: String, _ message: String, _ setting: String, _ needed: String
    ) -> SharedMemoryError {
        let hint =
            setting == "sem"
            ? "ask for less, remove unused sets (`ipcs -s`, `shm list`), or raise \(needed) in kernel.sem "
                + "(/proc/sys/kernel/sem: SEMMSL SEMMNS SEMOPM SEMMNI)"
            : "ask for less, remove unused segments (`ipcs -m`, `shm remove --stale`), or raise the limit: "
                + "sysctl kernel.\(setting)=\(needed) or more"
        return SharedMemoryError(
            code: .limitExceeded, operation: operation, address: address.description, message: message, hint: hint)
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map(index(after:)) ?? endIndex
        return self[start..<max(start, end)]
    }
}
