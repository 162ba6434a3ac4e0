#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SharedMemory
import Testing

/// `shm compare`, run as a user runs it. Its numbers are not asserted (tests do not time
/// things): its shape is, and that it leaves nothing behind.
@Suite("shm compare", .serialized)
struct ComparisonTests {
    static let sections = [
        "lifecycle", "attach", "first touch", "copy bandwidth", "guarded copy", "round trip", "lock", "heap", "ring throughput",
        "ring sizes", "zero-copy hand-over", "publish-subscribe", "events", "request-response",
    ]

    @Test("--quick --format json has every section, every ratio positive and finite")
    func quickJSON() throws {
        let result = try ChildProcess("shm", ["compare", "--quick", "--format", "json", "--allow-debug-build"]).finish()
        #expect(result.status == 0, "\(result.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output)) as? [String: Any])
        let machine = try #require(report["machine"] as? [String: String])
        for fact in ["cpu", "kernel", "transparent huge pages for shmem", "/dev/shm size", "kernel.shmmax"] {
            #expect(machine[fact] != nil, "machine fact \(fact)")
        }
        let results = try #require(report["results"] as? [[String: Any]])
        #expect(Set(results.compactMap { $0["section"] as? String }) == Set(Self.sections))
        for backend in SharedRegionBackend.available {
            #expect(results.contains { $0["section"] as? String == "lifecycle" && $0["mechanism"] as? String == backend.rawValue })
        }
        for row in results {
            for key in ["section", "mechanism", "metric", "unit"] { #expect(row[key] is String, "\(key) in \(row)") }
            for key in ["median", "p99"] {
                let value = try #require(row[key] as? Double, "\(key) in \(row)")
                // A count (the ring's futex calls while busy) may be 0; times and rates may not.
                #expect(value.isFinite && (value > 0 || (row["unit"] as? String == "calls" && value == 0)), "\(key) in \(row)")
            }
            if let ratio = row["ratio"] {
                let value = try #require(ratio as? Double)
                #expect(value.isFinite && value > 0, "ratio in \(row)")
                #expect((row["reference_median"] as? Double).map { $0 > 0 } == true)
            }
        }
        #expect(results.filter { $0["ratio"] != nil }.count >= 30)
        // The ring against the limit (the fastest plain C ring), with a pipe and a socket pair.
        let ring = results.filter { $0["section"] as? String == "ring throughput" }
        for mechanism in ["spsc ring", "limit ring", "pipe", "unix socket pair"] {
            #expect(ring.contains { $0["mechanism"] as? String == mechanism }, "\(mechanism) in the ring section")
        }
        for metric in ["64 B send/receive", "64 B trySend/tryReceive", "4 KiB send/receive", "4 KiB trySend/tryReceive"] {
            #expect(ring.contains { $0["metric"] as? String == metric && $0["ratio"] is Double }, "\(metric)")
        }
        for size in ["64 B", "4 KiB"] {
            #expect(
                ring.contains { $0["metric"] as? String == "\(size) send/receive: futex calls per 1,000 messages" && $0["unit"] as? String == "calls" },
                "futex calls at \(size)")
        }
        // The size curve: every size from 8 B to 1 MiB, four mechanisms, in messages and bytes per second.
        let sizes = results.filter { $0["section"] as? String == "ring sizes" }
        for size in ["8 B", "64 B", "512 B", "4 KiB", "32 KiB", "256 KiB", "1 MiB"] {
            for mechanism in ["spsc ring", "limit ring", "pipe", "unix socket pair"] {
                for unit in ["M msg/s", "GB/s"] {
                    #expect(
                        sizes.contains {
                            $0["mechanism"] as? String == mechanism && ($0["metric"] as? String)?.hasPrefix("\(size) messages") == true
                                && $0["unit"] as? String == unit
                        }, "\(mechanism) at \(size) in \(unit)")
                }
            }
        }
        for row in ring + sizes where row["mechanism"] as? String != "limit ring" && row["unit"] as? String != "calls" {
            let limitRatio = try #require(row["limit_ratio"] as? Double, "limit_ratio in \(row)")
            #expect(limitRatio.isFinite && limitRatio > 0, "limit_ratio in \(row)")
            #expect((row["limit_median"] as? Double).map { $0 > 0 } == true, "limit_median in \(row)")
        }
        // The lock against glibc's robust pthread mutex (the reference) and its normal one (the limit).
        let lock = results.filter { $0["section"] as? String == "lock" }
        for metric in ["uncontended lock + unlock", "hand-off round trip between two processes"] {
            let row = try #require(lock.first { $0["metric"] as? String == metric }, "\(metric) in the lock section")
            #expect(row["ratio"] is Double && row["limit_ratio"] is Double, "\(row)")
        }
        #expect(result.errors.contains("measuring round trip"))
    }

    @Test("publish-subscribe and events: a row per target, each with its reference, ratio and verdict")
    func publishSubscribeAndEvents() throws {
        let result = try ChildProcess(
            "shm", ["compare", "--quick", "--section", "publish-subscribe", "--section", "events", "--format", "json", "--allow-debug-build"]
        ).finish()
        #expect(result.status == 0, "\(result.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output)) as? [String: Any])
        let results = try #require(report["results"] as? [[String: Any]])
        let expected: [(section: String, metric: String, unit: String, target: Double)] = [
            ("publish-subscribe", "1 -> 1 64 B messages (reference: spsc ring send/receive)", "M msg/s", 0.8),
            ("publish-subscribe", "1 -> 4 64 B messages, slowest subscriber (reference: 1 -> 1)", "M msg/s", 0.5),
            ("publish-subscribe", "64 B hand-over (reference: spsc ring hand-over)", "µs", 1.2),
            ("publish-subscribe", "64 KiB hand-over (reference: 64 B hand-over)", "µs", 1.2),
            ("events", "event round trip (reference: C futex round trip)", "µs", 1.1),
        ]
        #expect(results.count == expected.count)
        for row in expected {
            let found = try #require(
                results.first { $0["section"] as? String == row.section && $0["metric"] as? String == row.metric },
                "\(row.metric) in \(results)")
            #expect(found["unit"] as? String == row.unit)
            for key in ["median", "p99", "reference_median", "ratio"] {
                let value = try #require(found[key] as? Double, "\(key) in \(found)")
                #expect(value.isFinite && value > 0, "\(key) in \(found)")
            }
            #expect(found["target"] as? Double == row.target)
            let ratio = try #require(found["ratio"] as? Double)
            let higherIsBetter = try #require(found["higher_is_better"] as? Bool)
            #expect(found["target_met"] as? Bool == (higherIsBetter ? ratio >= row.target : ratio <= row.target), "\(found)")
        }
        let table = try ChildProcess(
            "shm", ["compare", "--quick", "--section", "events", "--allow-debug-build"]
        ).finish()
        #expect(table.status == 0, "\(table.errors)")
        let line = String(decoding: table.output, as: UTF8.self).split(separator: "\n").first { $0.contains("event round trip") }
        #expect(line.map { $0.contains("≤ 1.10x: met") || $0.contains("≤ 1.10x: missed") } == true, "\(String(describing: line))")
    }

    @Test("interrupted half-way, it removes everything it made")
    func interrupted() throws {
        let compare = try ChildProcess("shm", ["compare", "--allow-debug-build"])
        while let line = try compare.readErrorLine(), !line.contains("measuring round trip") {}
        kill(compare.pid, SIGINT)
        let result = try compare.finish()
        #expect(result.status == 130, "\(result.errors)")
        #expect(result.errors.contains("interrupted"))
        let marker = "shmcmp-\(compare.pid)-"
        let posix = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.contains(marker) }
        #expect(posix.isEmpty, "left in /dev/shm: \(posix)")
        let files = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.contains(marker) }
        #expect(files.isEmpty, "left in the temporary directory: \(files)")
        let segments = try String(contentsOfFile: "/proc/sysvipc/shm", encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: " ") }.filter { $0.count > 4 && $0[4] == "\(compare.pid)" }
        #expect(segments.isEmpty, "System V segments left: \(segments)")
    }
}
