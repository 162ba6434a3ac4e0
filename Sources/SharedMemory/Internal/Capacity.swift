#if canImport(Glibc)
import Glibc
#endif

/// What the system can give, checked before reserving backing store: `fallocate` on a
/// memfd (whose tmpfs has no size limit) would otherwise take memory until the OOM killer
/// ends the process, and on a filesystem it would fail only after filling it.
enum Capacity {
    static func checkReservation(of byteCount: Int, _ address: RegionAddress) throws(SharedMemoryError) {
        guard let (available, place) = available(for: address), byteCount > available else { return }
        throw SharedMemoryError(
            code: .noSpace, operation: "fallocate", address: address.description,
            message: "\(byteCount) bytes asked, but \(place) has \(available) available",
            hint: "ask for at most \(available) bytes, or free space in \(place)")
    }

    /// Bytes that can still be reserved, and where they come from.
    private static func available(for address: RegionAddress) -> (Int, String)? {
        switch address {
        case .posix: return freeSpace(of: "/dev/shm")
        case .file(let path): return freeSpace(of: path.removingLastComponent().string)
        case .memfd: return availableMemory()
        case .systemV: return nil  // shmget accounts the segment itself (ENOMEM)
        }
    }

    private static func freeSpace(of directory: String) -> (Int, String)? {
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return nil }
        return (Int(info.f_bavail) * Int(info.f_frsize), directory)
    }

    /// `MemAvailable + SwapFree` from `/proc/meminfo`: what a memfd can take.
    private static func availableMemory() -> (Int, String)? {
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
