#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import Testing

/// A program of this package (`SharedMemoryTestPeer`, `shm`) run as a real second process,
/// launched with `posix_spawn` from the directory of the test binary. Its stdin and stdout
/// are pipes: the hand-over between the test and the child goes through them, never sleeps.
final class ChildProcess {
    let pid: pid_t
    private let input: FileDescriptor
    private let output: FileDescriptor
    private let errors: FileDescriptor
    private var pendingOutput: [UInt8] = []

    /// The folder that holds the test binary, and beside it the package's executables.
    static let productsDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = String(decoding: buffer[..<max(count, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }()

    /// Starts `program` with `arguments`; `passing` is dup'ed onto descriptor 3 in the child.
    init(_ program: String, _ arguments: [String], passing extra: FileDescriptor? = nil, environment: [String: String] = [:]) throws {
        let path = Self.productsDirectory + "/" + program
        let stdinPipe = try FileDescriptor.pipe()
        let stdoutPipe = try FileDescriptor.pipe()
        let stderrPipe = try FileDescriptor.pipe()
        // The parent's ends must not leak into other children that run concurrently.
        for descriptor in [stdinPipe.writeEnd, stdoutPipe.readEnd, stderrPipe.readEnd] {
            _ = fcntl(descriptor.rawValue, F_SETFD, FD_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe.readEnd.rawValue, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe.writeEnd.rawValue, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe.writeEnd.rawValue, 2)
        if let extra { posix_spawn_file_actions_adddup2(&actions, extra.rawValue, 3) }

        var environmentStrings = ProcessEnvironment.current.merging(environment) { $1 }.map { "\($0)=\($1)" }
        environmentStrings.sort()
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environmentStrings.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
        try stdinPipe.readEnd.close()
        try stdoutPipe.writeEnd.close()
        try stderrPipe.writeEnd.close()
        guard result == 0 else {
            try? stdinPipe.writeEnd.close(); try? stdoutPipe.readEnd.close(); try? stderrPipe.readEnd.close()
            throw Errno(rawValue: result)
        }
        self.pid = pid
        self.input = stdinPipe.writeEnd
        self.output = stdoutPipe.readEnd
        self.errors = stderrPipe.readEnd
    }

    /// Starts the test peer with a script of steps (see SharedMemoryTestPeer).
    static func peer(_ steps: String..., passing extra: FileDescriptor? = nil) throws -> ChildProcess {
        try ChildProcess("SharedMemoryTestPeer", steps, passing: extra)
    }

    deinit {
        try? input.close()
        try? output.close()
        try? errors.close()
    }

    /// The next line the child prints; nil at end of output.
    func readLine() throws -> String? {
        while true {
            if let newline = pendingOutput.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pendingOutput[..<newline], as: UTF8.self)
                pendingOutput.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = try chunk.withUnsafeMutableBytes { try output.read(into: $0) }
            if count == 0 {
                defer { pendingOutput = [] }
                return pendingOutput.isEmpty ? nil : String(decoding: pendingOutput, as: UTF8.self)
            }
            pendingOutput += chunk[..<count]
        }
    }

    /// Sends one line to the child's stdin (the peer's `wait` step returns).
    func send(_ line: String) throws {
        _ = try input.writeAll((line + "\n").utf8)
    }

    func write(_ bytes: [UInt8]) throws {
        _ = try input.writeAll(bytes)
    }

    func closeInput() throws {
        try input.close()
    }

    /// Everything left on stdout and stderr, and the exit status; closes stdin first.
    @discardableResult
    func finish() throws -> (status: Int32, output: [UInt8], errors: String) {
        try? input.close()
        var rest = pendingOutput
        pendingOutput = []
        rest += try Self.readAll(output)
        let errorText = String(decoding: try Self.readAll(errors), as: UTF8.self)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, rest, errorText)
    }

    /// Waits for the child and records a test issue with its stderr unless it exited 0.
    func expectSuccess(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try finish()
        #expect(result.status == 0, "child failed: \(result.errors)", sourceLocation: sourceLocation)
    }

    private static func readAll(_ descriptor: FileDescriptor) throws -> [UInt8] {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
            if count == 0 { return all }
            all += chunk[..<count]
        }
    }
}

enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
