#if canImport(Glibc)
import Glibc
#endif
import ProcessSpawning

/// The other process of a two-process measurement: this package's comparison peer, telling
/// "ready" on its standard output once it is attached and pinned.
final class PeerProcess {
    private let child: ChildProcess

    init(_ command: [String], _ arguments: [String]) throws {
        do {
            child = try ChildProcess(command[0], Array(command.dropFirst()) + arguments, input: .inherit, errors: .inherit)
        } catch {
            throw ComparisonError("cannot start the comparison peer \(command[0]): \(error)")
        }
    }

    /// Waits for the peer's "ready" line.
    func waitUntilReady() throws {
        let line = try child.readLine()
        guard line == "ready" else {
            _ = try? child.finish()
            throw ComparisonError("the comparison peer did not start: \(line ?? "(no output)")")
        }
    }

    /// Whether the peer has ended (`waitid` with `WNOWAIT`: it stays to be reaped by `finish`),
    /// for loops that would otherwise spin forever on a dead peer.
    var hasEnded: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(child.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid != 0
    }

    /// Waits for the peer to exit; throws unless it exited 0.
    func finish() throws {
        let status = try child.finish().status
        guard status == 0 else { throw ComparisonError("the comparison peer failed (status \(status))") }
    }
}
