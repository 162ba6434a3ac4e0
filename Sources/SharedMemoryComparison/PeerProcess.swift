#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The other process of a two-process measurement: this package's comparison peer, started
/// with `posix_spawn`, telling "ready" on its stdout once it is attached and pinned.
final class PeerProcess {
    let pid: pid_t
    private var output: FileDescriptor?

    init(_ command: [String], _ arguments: [String]) throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw ComparisonError("pipe failed: \(String(cString: strerror(errno)))") }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        let argv = (command + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        close(ends[1])
        guard result == 0 else {
            close(ends[0])
            throw ComparisonError("cannot start the comparison peer \(command[0]): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        self.output = FileDescriptor(rawValue: ends[0])
    }

    /// Waits for the peer's "ready" line.
    func waitUntilReady() throws {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while let output, (try withUnsafeMutableBytes(of: &byte) { try output.read(into: $0) }) == 1 {
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        guard String(decoding: line, as: UTF8.self) == "ready" else {
            _ = try? finish()
            throw ComparisonError("the comparison peer did not start: \(String(decoding: line, as: UTF8.self))")
        }
    }

    /// Waits for the peer to exit; throws unless it exited 0.
    func finish() throws {
        try? output?.close()
        output = nil
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw ComparisonError("the comparison peer failed (wait status \(status))") }
    }

    deinit {
        if output != nil {
            kill(pid, SIGKILL)
            try? finish()
        }
    }
}
