#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// A debug build's numbers say nothing about the library: unoptimized Swift against `-O` C.
/// So a debug `shm compare` (what `swift run shm compare` builds) builds an optimized `shm`
/// and runs that instead.
enum OptimizedBuild {
    /// The package this debug binary was built from.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func runInstead(arguments: [String]) throws {
        Output.error("shm compare: building an optimized shm first (swift build -c release --product shm)…")
        guard run(["swift", "build", "-c", "release", "--product", "shm", "--package-path", packageRoot]) == 0,
            let binPath = output(["swift", "build", "-c", "release", "--package-path", packageRoot, "--show-bin-path"])
        else {
            Output.error("shm compare: the optimized build failed; run `swift run -c release shm compare` instead")
            throw ExitCode.failure
        }
        let binary = binPath + "/shm"
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        execv(binary, argv)
        Output.error("shm compare: cannot run \(binary): \(String(cString: strerror(errno)))")
        throw ExitCode.failure
    }

    /// Runs a command with its output on our stderr; its exit status.
    private static func run(_ command: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        return spawnAndWait(command, &actions)
    }

    /// Runs a command and returns its first line of output.
    private static func output(_ command: [String]) -> String? {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_addclose(&actions, ends[0])
        let handle = FileHandle(fileDescriptor: ends[0], closeOnDealloc: true)
        let status = spawnAndWait(command, &actions, closing: ends[1])
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        guard status == 0 else { return nil }
        return text.split(separator: "\n").first.map(String.init)
    }

    private static func spawnAndWait(_ command: [String], _ actions: inout posix_spawn_file_actions_t, closing: Int32? = nil) -> Int32 {
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, command[0], &actions, nil, argv, environ)
        if let closing { close(closing) }
        guard result == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status
    }
}
