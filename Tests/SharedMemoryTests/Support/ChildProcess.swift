#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import Testing

/// A program of this package (`SharedMemoryTestPeer`, `shm`) run as a real second process,
/// launched with `posix_spawn` from the directory of the test binary. Its stdin and stdout
/// are pipes (socket pairs): the hand-over between the test and the child goes through them, never sleeps.
final class ChildProcess {
    let pid: pid_t
    // Each is closed exactly once: a second close could hit a descriptor number that a
    // concurrently running test has been given meanwhile.
    private var input: FileDescriptor?
    private var output: FileDescriptor?
    private var errors: FileDescriptor?
    private var status: Int32?
    private var pendingOutput: [UInt8] = []
    private var pendingErrors: [UInt8] = []

    /// The folder that holds the test binary, and beside it the package's executables.
    static let productsDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = String(decoding: buffer[..<max(count, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }()

    /// Starts `program` with `arguments`; `passing` is dup'ed onto descriptor 3 in the child.
    convenience init(_ program: String, _ arguments: [String], passing extra: FileDescriptor? = nil, environment: [String: String] = [:]) throws {
        try self.init(absolute: Self.productsDirectory + "/" + program, arguments, passing: extra, environment: environment)
    }

    /// Starts the program at `path`.
    init(absolute path: String, _ arguments: [String], passing extra: FileDescriptor? = nil, environment: [String: String] = [:]) throws {
        let stdinPipe = try Self.closeOnExecPipe()
        let stdoutPipe = try Self.closeOnExecPipe()
        let stderrPipe = try Self.closeOnExecPipe()
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

    /// A one-way channel whose ends are close-on-exec from the start, so that children spawned
    /// concurrently by other tests never inherit them; `dup2` onto 0, 1, 2 clears the flag.
    /// (A socket pair, because `pipe2` is hidden behind `_GNU_SOURCE`.)
    private static func closeOnExecPipe() throws -> (readEnd: FileDescriptor, writeEnd: FileDescriptor) {
        var ends: [Int32] = [0, 0]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &ends) == 0 else { throw Errno(rawValue: errno) }
        return (FileDescriptor(rawValue: ends[0]), FileDescriptor(rawValue: ends[1]))
    }

    /// Starts the test peer with a script of steps (see SharedMemoryTestPeer).
    static func peer(_ steps: String..., passing extra: FileDescriptor? = nil) throws -> ChildProcess {
        try ChildProcess("SharedMemoryTestPeer", steps, passing: extra)
    }

    deinit {
        try? input?.close()
        try? output?.close()
        try? errors?.close()
        if status == nil { Glibc.kill(pid, SIGKILL); _ = try? finish() }
    }

    /// The next line the child prints; nil at end of output.
    func readLine() throws -> String? {
        try Self.readLine(from: output, pending: &pendingOutput)
    }

    /// The next line the child prints on stderr (its progress, say); nil at end.
    func readErrorLine() throws -> String? {
        try Self.readLine(from: errors, pending: &pendingErrors)
    }

    private static func readLine(from descriptor: FileDescriptor?, pending: inout [UInt8]) throws -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            guard let descriptor else { return nil }
            let count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
            if count == 0 {
                defer { pending = [] }
                return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
            }
            pending += chunk[..<count]
        }
    }

    /// Sends one line to the child's stdin (the peer's `wait` step returns).
    func send(_ line: String) throws {
        try write(Array((line + "\n").utf8))
    }

    func write(_ bytes: [UInt8]) throws {
        guard let input else { throw Errno.badFileDescriptor }
        _ = try input.writeAll(bytes)
    }

    func closeInput() throws {
        try input?.close()
        input = nil
    }

    /// Sends `signal` (SIGKILL by default) and waits for the child to end.
    func kill(_ signal: Int32 = SIGKILL) throws {
        Glibc.kill(pid, signal)
        try finish()
    }

    /// Everything left on stdout and stderr, and the exit status; closes stdin first.
    @discardableResult
    func finish() throws -> (status: Int32, output: [UInt8], errors: String) {
        try closeInput()
        var rest = pendingOutput
        pendingOutput = []
        var errorBytes = pendingErrors
        pendingErrors = []
        try Self.drain(&output, into: &rest, and: &errors, into: &errorBytes)
        let errorText = String(decoding: errorBytes, as: UTF8.self)
        if status == nil {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
            status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        }
        return (status ?? -1, rest, errorText)
    }

    /// Waits for the child and records a test issue with its stderr unless it exited 0.
    func expectSuccess(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try finish()
        #expect(result.status == 0, "child failed: \(result.errors)", sourceLocation: sourceLocation)
    }

    /// Reads both descriptors to their end, whichever has data (`poll`), then closes them:
    /// reading one after the other would let a child block on a full stderr while we wait
    /// for its stdout to end.
    private static func drain(
        _ first: inout FileDescriptor?, into firstBytes: inout [UInt8],
        and second: inout FileDescriptor?, into secondBytes: inout [UInt8]
    ) throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while first != nil || second != nil {
            var polled = [first, second].map { pollfd(fd: $0?.rawValue ?? -1, events: Int16(POLLIN), revents: 0) }
            guard poll(&polled, 2, -1) >= 0 else {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            for (index, entry) in polled.enumerated() where entry.fd >= 0 && entry.revents != 0 {
                let descriptor = FileDescriptor(rawValue: entry.fd)
                let count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
                if count > 0 {
                    if index == 0 { firstBytes += chunk[..<count] } else { secondBytes += chunk[..<count] }
                } else {
                    try? descriptor.close()
                    if index == 0 { first = nil } else { second = nil }
                }
            }
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
