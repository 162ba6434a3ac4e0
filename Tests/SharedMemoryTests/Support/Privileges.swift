#if canImport(Glibc)
import Glibc
#endif
import SharedMemory

/// What this test process may do to the system: mount a tmpfs, make an IPC namespace.
enum Privileges {
    /// `CAP_SYS_ADMIN` (bit 21) in the effective set, from `/proc/self/status`.
    static let hasSystemAdministration: Bool = {
        guard let file = fopen("/proc/self/status", "r") else { return false }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("CapEff:"), let mask = UInt64(text.dropFirst(7).filter(\.isHexDigit), radix: 16) {
                return mask & (1 << 21) != 0
            }
        }
        return false
    }()

    static let unshare = "/usr/bin/unshare"

    /// Why a private IPC namespace (`unshare --ipc`) cannot be made here, or nil.
    static let ipcNamespaceUnavailable: String? = {
        if !hasSystemAdministration { return "needs CAP_SYS_ADMIN to make an IPC namespace" }
        if access(unshare, X_OK) != 0 { return "needs \(unshare) (util-linux)" }
        if !SharedRegionBackend.systemV.isAvailable { return "no System V IPC in this kernel" }
        return nil
    }()

    /// The test peer in a fresh IPC namespace whose `kernel.SETTING` is `value`: System V
    /// limits can be lowered there without touching the machine's.
    static func peerInIPCNamespace(setting: String, value: String, _ steps: [String]) throws -> ChildProcess {
        try ChildProcess(
            absolute: unshare,
            ["--ipc", "--", "/bin/sh", "-c", #"echo "$2" > "/proc/sys/kernel/$1" && shift 2 && exec "$@""#, "sh",
             setting, value, ChildProcess.productsDirectory + "/SharedMemoryTestPeer"] + steps)
    }
}
