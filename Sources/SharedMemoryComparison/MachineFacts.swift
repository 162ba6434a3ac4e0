#if canImport(Glibc)
import Glibc
#endif

/// The facts about this machine that explain the numbers.
enum MachineFacts {
    static func collect(cpus: [Int]) -> [(key: String, value: String)] {
        var facts: [(String, String)] = []
        facts.append(("cpu", cpuModel()))
        facts.append(("cpus online", "\(sysconf(Int32(_SC_NPROCESSORS_ONLN)))"))
        facts.append(("cpus used", cpus.count >= 2 ? "parent on \(cpus[0]), child on \(cpus[1])" : "one CPU: both sides share it"))
        var name = utsname()
        uname(&name)
        facts.append(("kernel", "\(field(&name.sysname)) \(field(&name.release)) \(field(&name.machine))"))
        facts.append(("page size", "\(sysconf(Int32(_SC_PAGESIZE)))"))
        facts.append(("transparent huge pages for shmem", selected(read("/sys/kernel/mm/transparent_hugepage/shmem_enabled"))))
        facts.append(("/dev/shm size", devShmSize()))
        for limit in ["shmmax", "shmall", "shmmni"] {
            facts.append(("kernel.\(limit)", read("/proc/sys/kernel/\(limit)")))
        }
        facts.append(("kernel.sem", read("/proc/sys/kernel/sem").split(whereSeparator: \.isWhitespace).joined(separator: " ")))
        facts.append(("memory", memory()))
        return facts
    }

    private static func read(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "unknown" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        guard fgets(&line, Int32(line.count), file) != nil else { return "unknown" }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init) ?? ""
    }

    private static func cpuModel() -> String {
        guard let file = fopen("/proc/cpuinfo", "r") else { return "unknown" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 1024)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                return text[text.index(after: colon)...].trimmingSpaces()
            }
        }
        return "unknown"
    }

    private static func selected(_ setting: String) -> String {
        setting.split(separator: " ").first { $0.hasPrefix("[") }.map { String($0.dropFirst().dropLast()) } ?? setting
    }

    private static func devShmSize() -> String {
        var info = statvfs()
        guard statvfs("/dev/shm", &info) == 0 else { return "unavailable" }
        let total = Int(info.f_blocks) * Int(info.f_frsize)
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        return "\(total >> 20) MiB (\(free >> 20) MiB free)"
    }

    private static func memory() -> String {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        return "\((pages * size) >> 20) MiB"
    }

    private static func field<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }
}
