#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import ProcessSpawning

/// A debug build's numbers say nothing about the library: unoptimized Swift against `-O` C.
/// So a debug `shm compare` (what `swift run shm compare` builds) builds an optimized `shm`
/// and runs that instead.
enum OptimizedBuild {
    /// The package this debug binary was built from.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func runInstead(arguments: [String]) throws {
        Output.error("shm compare: building an optimized shm first (swift build -c release --product shm)…")
        guard run(["build", "-c", "release", "--product", "shm", "--package-path", packageRoot], output: .standardError) != nil,
            let binPath = run(["build", "-c", "release", "--package-path", packageRoot, "--show-bin-path"], output: .pipe)
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

    /// Runs `swift` with `arguments`; the first line of its output (when piped), or nil if it failed.
    private static func run(_ arguments: [String], output: ChildProcess.Stream) -> String? {
        guard let swift = try? ChildProcess("swift", arguments, searchingPath: true, input: .inherit, output: output, errors: .inherit),
            let result = try? swift.finish(), result.status == 0
        else { return nil }
        return String(decoding: result.output, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }
}
