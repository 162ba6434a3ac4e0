#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import SharedMemoryComparison

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Measure every mechanism on this machine against plain C, in one run.",
        discussion: """
            Lifecycle and attach per backend at 4 KiB, 1 MiB and 64 MiB; first touch with and without \
            prefault; copy bandwidth; round trips (spin, futex, System V semaphore, and pipe, Unix socket \
            and System V message queue as baselines); the process mutex against glibc's process-shared \
            pthread mutex (uncontended, and handed between two processes); SPSC ring throughput (against \
            the limit ring, a pipe and a socket pair, with futex calls per 1,000 messages), the ring's \
            size curve from 8 B to 1 MiB, zero-copy hand-over, publish-subscribe (1 -> 1 and 1 -> 4 against \
            the ring, hand-over against the ring's) and the event round trip against C's futex. \
            Each figure: median, p99, C's median and the ratio. Progress goes to stderr.
            """)

    @Flag(help: "Fewer samples: finishes in well under 20 seconds.")
    var quick = false

    @Option(help: "Measure only this section (repeatable): \(Comparison.sectionNames.joined(separator: ", ")).")
    var section: [String] = []

    @Option(help: "table, markdown, json or html (one page with charts, for a browser; use with --output).")
    var format: String = "table"

    @Option(help: "Write the report to this file instead of stdout.")
    var output: String?

    @Flag(help: .hidden)
    var allowDebugBuild = false

    func validate() throws {
        if ReportFormat(rawValue: format) == nil { throw ValidationError("--format takes table, markdown, json or html") }
        for name in section where !Comparison.sectionNames.contains(name) {
            throw ValidationError("no section '\(name)'; the sections are \(Comparison.sectionNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        #if DEBUG
        if !allowDebugBuild { try OptimizedBuild.runInstead(arguments: Array(CommandLine.arguments.dropFirst())) }
        #endif
        let report: ComparisonReport
        do {
            report = try Comparison.run(Comparison.Options(quick: quick, sections: Set(section), progress: { Output.error("measuring \($0)…") }))
        } catch {
            Output.error("shm compare: \(error)")
            throw ExitCode(error as? Comparison.Interrupted != nil ? 130 : 1)
        }
        let text = report.rendered(as: ReportFormat(rawValue: format) ?? .table) + "\n"
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                Output.error("shm compare: cannot write \(output)")
                throw ExitCode.failure
            }
        } else {
            Output.bytes(Array(text.utf8))
        }
    }
}

/// The hidden other process of the Swift side of a two-process measurement.
struct ComparePeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_compare-peer", shouldDisplay: false)

    @Argument(parsing: .allUnrecognized)
    var arguments: [String] = []

    func run() throws {
        let status = ComparisonPeer.run(arguments)
        if status != 0 { throw ExitCode(status) }
    }
}
