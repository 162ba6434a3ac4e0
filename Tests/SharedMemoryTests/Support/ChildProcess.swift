#if canImport(Glibc)
import Glibc
#endif
import ProcessSpawning
import SystemPackage
import Testing

/// One name for the whole test target, so no test file needs to import the spawning module.
typealias ChildProcess = ProcessSpawning.ChildProcess

/// The tests' second processes: this package's programs (`SharedMemoryTestPeer`, `shm`),
/// launched from the directory of the test binary. Hand-overs between the test and the child
/// go through its standard input and output, never sleeps.
extension ChildProcess {
    /// The folder that holds the test binary, and beside it the package's executables.
    static let productsDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = String(decoding: buffer[..<max(count, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }()

    /// Starts this package's `program` with `arguments`; `passing` is dup'ed onto descriptor 3.
    convenience init(
        _ program: String, _ arguments: [String], passing extra: FileDescriptor? = nil, environment: [String: String] = [:]
    ) throws {
        try self.init(absolute: Self.productsDirectory + "/" + program, arguments, passing: extra, environment: environment)
    }

    /// Starts the program at `path`, every standard stream a pipe.
    convenience init(
        absolute path: String, _ arguments: [String], passing extra: FileDescriptor? = nil,
        environment: [String: String] = [:]
    ) throws {
        try self.init(path, arguments, input: .pipe, passing: extra, environment: environment)
    }

    /// Starts the test peer with a script of steps (see SharedMemoryTestPeer).
    static func peer(_ steps: String..., passing extra: FileDescriptor? = nil) throws -> ChildProcess {
        try ChildProcess("SharedMemoryTestPeer", steps, passing: extra)
    }

    /// Waits for the child and records a test issue with its standard error unless it exited 0.
    func expectSuccess(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try finish()
        #expect(result.status == 0, "child failed: \(result.errors)", sourceLocation: sourceLocation)
    }
}
