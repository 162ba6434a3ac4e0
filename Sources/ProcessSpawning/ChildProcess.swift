#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Another program run as a child process (`posix_spawn`), with the standard streams each
/// child needs: the tests' second process, the comparison's peer, the CLI's optimized build.
///
/// Every pipe is close-on-exec from the moment it exists, so a child started concurrently by
/// another thread never inherits the other end (`dup2` onto 0, 1, 2 or 3 clears the flag in
/// the child). A child not waited for is killed and reaped when this object goes.
public final class ChildProcess {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// The same descriptor this process has.
        case inherit
        /// A pipe to this process: written with `send`/`write`, read with `readLine`/`finish`.
        case pipe
        /// This process's standard error (for standard output only).
        case standardError
    }

    /// How the child ended: its exit code, or 128 + the signal that ended it, as a shell says.
    public typealias Status = Int32

    public let pid: pid_t
    // Each is closed exactly once: a second close could hit a descriptor number that another
    // thread has been given meanwhile.
    private var input: FileDescriptor?
    private var output: FileDescriptor?
    private var errors: FileDescriptor?
    private var status: Status?
    private var pendingOutput: [UInt8] = []
    private var pendingErrors: [UInt8] = []

    /// Starts the program at `path` (or found on `PATH`, with `searchingPath`).
    ///
    /// - Parameters:
    ///   - passing: dup'ed onto descriptor 3 in the child (a memfd, a socket).
    ///   - environment: added to this process's environment for the child.
    public init(
        _ path: String, _ arguments: [String], searchingPath: Bool = false,
        input inputStream: Stream = .pipe, output outputStream: Stream = .pipe, errors errorStream: Stream = .pipe,
        passing extra: FileDescriptor? = nil, environment: [String: String] = [:]
    ) throws(Errno) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // The child's ends, closed here once the child has them.
        var childEnds: [FileDescriptor] = []
        defer { for end in childEnds { try? end.close() } }
        var parentEnds: [FileDescriptor?] = [nil, nil, nil]
        do {
            for (target, stream) in [inputStream, outputStream, errorStream].enumerated() {
                switch stream {
                case .inherit:
                    continue
                case .standardError:
                    posix_spawn_file_actions_adddup2(&actions, 2, Int32(target))
                case .pipe:
                    let pipe = try FileDescriptor.pipe(options: .closeOnExec)
                    let (child, parent) = target == 0 ? (pipe.readEnd, pipe.writeEnd) : (pipe.writeEnd, pipe.readEnd)
                    childEnds.append(child)
                    parentEnds[target] = parent
                    posix_spawn_file_actions_adddup2(&actions, child.rawValue, Int32(target))
                }
            }
        } catch {
            for end in parentEnds { try? end?.close() }
            throw error
        }
        if let extra { posix_spawn_file_actions_adddup2(&actions, extra.rawValue, 3) }

        let environmentStrings = Self.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }.sorted()
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environmentStrings.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result =
            searchingPath
            ? posix_spawnp(&pid, path, &actions, nil, argv, envp) : posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard result == 0 else {
            for end in parentEnds { try? end?.close() }
            throw Errno(rawValue: result)
        }
        self.pid = pid
        (input, output, errors) = (parentEnds[0], parentEnds[1], parentEnds[2])
    }

    deinit {
        try? input?.close()
        try? output?.close()
        try? errors?.close()
        if status == nil {
            Glibc.kill(pid, SIGKILL)
            _ = try? finish()
        }
    }

    /// The next line the child prints on standard output; nil at its end.
    public func readLine() throws(Errno) -> String? {
        try Self.readLine(from: output, pending: &pendingOutput)
    }

    /// The next line the child prints on standard error (its progress, say); nil at its end.
    public func readErrorLine() throws(Errno) -> String? {
        try Self.readLine(from: errors, pending: &pendingErrors)
    }

    private static func readLine(from descriptor: FileDescriptor?, pending: inout [UInt8]) throws(Errno) -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            guard let descriptor else { return nil }
            let count = try Self.read(descriptor, into: &chunk)
            if count == 0 {
                defer { pending = [] }
                return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
            }
            pending += chunk[..<count]
        }
    }

    /// Sends one line to the child's standard input.
    public func send(_ line: String) throws(Errno) {
        try write(Array((line + "\n").utf8))
    }

    /// Writes `bytes` to the child's standard input.
    public func write(_ bytes: [UInt8]) throws(Errno) {
        guard let input else { throw Errno.badFileDescriptor }
        do { _ = try input.writeAll(bytes) } catch { throw error as? Errno ?? .ioError }
    }

    /// Closes the child's standard input: it reads end of file.
    public func closeInput() throws(Errno) {
        guard let input else { return }
        self.input = nil
        do { try input.close() } catch { throw error as? Errno ?? .ioError }
    }

    /// Sends `signal` (SIGKILL unless told) and waits for the child to end.
    public func kill(_ signal: Int32 = SIGKILL) throws(Errno) {
        Glibc.kill(pid, signal)
        try finish()
    }

    /// Closes standard input, reads what is left on standard output and error, and waits for
    /// the child to end (`waitpid`).
    @discardableResult
    public func finish() throws(Errno) -> (status: Status, output: [UInt8], errors: String) {
        try closeInput()
        var rest = pendingOutput
        var errorBytes = pendingErrors
        (pendingOutput, pendingErrors) = ([], [])
        try Self.drain(&output, into: &rest, and: &errors, into: &errorBytes)
        if status == nil {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 {
                guard errno == EINTR else { throw Errno(rawValue: errno) }
            }
            status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        }
        return (status ?? -1, rest, String(decoding: errorBytes, as: UTF8.self))
    }

    /// Reads both descriptors to their end, whichever has data (`poll`), then closes them:
    /// reading one after the other would let a child block on a full standard error while
    /// this process waits for its standard output to end.
    private static func drain(
        _ first: inout FileDescriptor?, into firstBytes: inout [UInt8],
        and second: inout FileDescriptor?, into secondBytes: inout [UInt8]
    ) throws(Errno) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while first != nil || second != nil {
            var polled = [first, second].map { pollfd(fd: $0?.rawValue ?? -1, events: Int16(POLLIN), revents: 0) }
            guard poll(&polled, 2, -1) >= 0 else {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            for (index, entry) in polled.enumerated() where entry.fd >= 0 && entry.revents != 0 {
                let descriptor = FileDescriptor(rawValue: entry.fd)
                let count = try Self.read(descriptor, into: &chunk)
                if count > 0 {
                    if index == 0 { firstBytes += chunk[..<count] } else { secondBytes += chunk[..<count] }
                } else {
                    try? descriptor.close()
                    if index == 0 { first = nil } else { second = nil }
                }
            }
        }
    }

    private static func read(_ descriptor: FileDescriptor, into chunk: inout [UInt8]) throws(Errno) -> Int {
        do { return try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) } } catch {
            throw error as? Errno ?? .ioError
        }
    }

    /// This process's environment, as the child starts from it.
    private static var environment: [String: String] {
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
