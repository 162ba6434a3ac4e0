#if canImport(Glibc)
import Glibc
#endif

/// Running the test peer as another user (`nobody`), through `setpriv`, where this suite
/// runs as root.
enum OtherUser {
    static let setpriv = "/usr/bin/setpriv"
    static let uid: UInt32 = 65534  // nobody
    static let gid: UInt32 = 65534  // nogroup

    /// Why the other-user tests cannot run here, or nil when they can.
    static let unavailableReason: String? = {
        if geteuid() != 0 { return "needs root to switch to another user" }
        if access(setpriv, X_OK) != 0 { return "needs \(setpriv) (util-linux)" }
        if getpwnam("nobody") == nil || getgrnam("nogroup") == nil { return "needs the user nobody and group nogroup" }
        return nil
    }()

    static var isAvailable: Bool { unavailableReason == nil }

    /// The test peer run as `nobody:nogroup` with no supplementary groups.
    static func peer(_ steps: String...) throws -> ChildProcess {
        try ChildProcess(
            absolute: setpriv,
            ["--reuid=nobody", "--regid=nogroup", "--clear-groups", ChildProcess.productsDirectory + "/SharedMemoryTestPeer"]
                + steps)
    }
}
