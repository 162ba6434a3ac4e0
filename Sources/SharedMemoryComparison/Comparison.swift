#if canImport(Glibc)
import Glibc
#endif
import CReference
import SharedMemory

/// Measures every mechanism on this machine through the library's public API, against the
/// same operations in plain C (`CReference`), in one run.
public enum Comparison {
    /// How long and how thoroughly to measure.
    public struct Options: Sendable {
        /// Fewer samples: the whole run in well under 20 seconds.
        public var quick: Bool
        /// The program and arguments that start this package's comparison peer (the other
        /// process of a round trip); `shm` answers to `_compare-peer`.
        public var peerCommand: [String]
        /// Only these sections (by name, as `sectionNames` lists them); all when empty.
        public var sections: Set<String>
        /// Told what is being measured, as it starts.
        public var progress: @Sendable (String) -> Void

        public init(
            quick: Bool = false, sections: Set<String> = [], peerCommand: [String] = ["/proc/self/exe", "_compare-peer"],
            progress: @escaping @Sendable (String) -> Void = { _ in }
        ) {
            self.quick = quick
            self.sections = sections
            self.peerCommand = peerCommand
            self.progress = progress
        }
    }

    /// The sections a run measures, in order.
    public static var sectionNames: [String] { ComparisonRun.sections.map(\.name) }

    /// Runs every section and returns the report. Objects it creates are removed when it
    /// ends, fails, or is interrupted (SIGINT, SIGTERM).
    public static func run(_ options: Options) throws -> ComparisonReport {
        let run = try ComparisonRun(options: options)
        defer { run.cleanUp.finish() }
        var results: [ComparisonResult] = []
        for section in ComparisonRun.sections where options.sections.isEmpty || options.sections.contains(section.name) {
            options.progress(section.name)
            results += try section.measure(run)
        }
        return ComparisonReport(machine: MachineFacts.collect(cpus: run.cpus), results: results)
    }
}

/// One run's settings and bookkeeping, shared by the sections.
final class ComparisonRun {
    let options: Comparison.Options
    let cleanUp: CleanUp
    /// The CPUs the parent and the child of a two-process measurement are pinned to.
    let cpus: [Int]
    private var counter = 0

    typealias Section = (name: String, measure: (ComparisonRun) throws -> [ComparisonResult])
    static var sections: [Section] {
        [
        ("lifecycle", { try $0.lifecycle() }),
        ("attach", { try $0.attach() }),
        ("first touch", { try $0.firstTouch() }),
        ("copy bandwidth", { try $0.copyBandwidth() }),
        ("guarded copy", { try $0.guardedCopies() }),
        ("round trip", { try $0.roundTrips() }),
        ("lock", { try $0.locks() }),
        ("heap", { try $0.heap() }),
        ("ring throughput", { try $0.ringThroughput() }),
        ("ring sizes", { try $0.ringSizes() }),
            ("zero-copy hand-over", { try $0.handover() }),
            ("publish-subscribe", { try $0.publishSubscribe() }),
            ("events", { try $0.events() }),
            ("request-response", { try $0.requestResponse() }),
        ]
    }

    init(options: Comparison.Options) throws {
        self.options = options
        self.cleanUp = try CleanUp.install()
        var usable = [Int32](repeating: 0, count: 1024)
        let count = cref_usable_cpus(&usable, Int32(usable.count))
        cpus = usable.prefix(Int(max(count, 0))).map(Int.init)
    }

    var parentCPU: Int32 { cpus.count >= 2 ? Int32(cpus[0]) : -1 }
    var childCPU: Int32 { cpus.count >= 2 ? Int32(cpus[1]) : -1 }

    /// A name no other run or object uses, registered for removal.
    func uniqueName(_ label: String) -> String {
        counter += 1
        return "shmcmp-\(getpid())-\(label)-\(counter)"
    }

    /// Scales the number of samples for `--quick`.
    func iterations(_ full: Int) -> Int { options.quick ? max(full / 8, 5) : full }

    /// Measures `swift` and `c` side by side, alternating them in rounds (Swift first in even
    /// rounds, C first in odd ones) so that drift of the machine falls on both alike.
    func compare(
        section: String, mechanism: String, metric: String, unit: String, higherIsBetter: Bool = false,
        iterations: Int, rounds: Int = 4, value: (UInt64) -> Double,
        swift: (Int) throws -> [UInt64], c: ((Int) throws -> [UInt64])?
    ) throws -> ComparisonResult {
        var swiftSamples: [UInt64] = []
        var cSamples: [UInt64] = []
        let perRound = max(iterations / rounds, 1)
        for round in 0..<rounds {
            try cleanUp.checkpoint()
            if round % 2 == 0 {
                swiftSamples += try swift(perRound)
                if let c { cSamples += try c(perRound) }
            } else {
                if let c { cSamples += try c(perRound) }
                swiftSamples += try swift(perRound)
            }
        }
        let values = swiftSamples.map(value)
        let reference = cSamples.isEmpty ? nil : Statistics.median(cSamples.map(value))
        let median = Statistics.median(values)
        return ComparisonResult(
            section: section, mechanism: mechanism, metric: metric, unit: unit, higherIsBetter: higherIsBetter,
            median: median, p99: Statistics.tail(values, higherIsBetter: higherIsBetter),
            referenceMedian: reference, ratio: reference.map { median / $0 })
    }

    /// Measures each of `contenders` once per round, the first one of each round rotating, so
    /// that drift of the machine falls on all alike; the samples of each, in order.
    func alternating(rounds: Int, _ contenders: [() throws -> UInt64]) throws -> [[UInt64]] {
        var samples = [[UInt64]](repeating: [], count: contenders.count)
        for round in 0..<rounds {
            try cleanUp.checkpoint()
            for step in contenders.indices {
                let index = (round + step) % contenders.count
                samples[index].append(try contenders[index]())
            }
        }
        return samples
    }

    /// A C-only figure (the pipe, socket and message-queue baselines).
    func baseline(
        section: String, mechanism: String, metric: String, unit: String, higherIsBetter: Bool = false,
        samples: [UInt64], value: (UInt64) -> Double
    ) -> ComparisonResult {
        let values = samples.map(value)
        return ComparisonResult(
            section: section, mechanism: mechanism, metric: metric, unit: unit, higherIsBetter: higherIsBetter,
            median: Statistics.median(values), p99: Statistics.tail(values, higherIsBetter: higherIsBetter),
            referenceMedian: nil, ratio: nil)
    }

    /// Runs a C reference function that fills `count` samples; a failure becomes an error
    /// naming the function and errno.
    func cSamples(_ function: String, count: Int, _ body: (UnsafeMutablePointer<UInt64>) -> Int32) throws -> [UInt64] {
        var samples = [UInt64](repeating: 0, count: max(count, 1))
        let result = samples.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        guard result == 0 else { throw ComparisonError("the C reference \(function) failed: \(String(cString: strerror(errno)))") }
        return Array(samples.prefix(count))
    }

    /// Times `body` with the clock the C side uses (CLOCK_MONOTONIC).
    @inline(__always)
    func timed(_ body: () throws -> Void) rethrows -> UInt64 {
        let start = cref_now_ns()
        try body()
        return cref_now_ns() - start
    }
}

struct ComparisonError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
