import Foundation
import Testing

/// `shm compare --section request-response`, run as a user runs it: its row's shape, not its numbers.
@Suite("shm compare request-response")
struct RequestResponseComparisonTests {
    @Test("the round trip row has its reference (two ring hand-overs), ratio, target and verdict")
    func row() throws {
        let result = try ChildProcess(
            "shm", ["compare", "--quick", "--section", "request-response", "--format", "json", "--allow-debug-build"]
        ).finish()
        #expect(result.status == 0, "\(result.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output)) as? [String: Any])
        let results = try #require(report["results"] as? [[String: Any]])
        #expect(results.count == 1)
        let row = try #require(results.first)
        #expect(row["section"] as? String == "request-response")
        #expect(row["metric"] as? String == "64 B request, 64 B response round trip (reference: two spsc ring hand-overs)")
        #expect(row["unit"] as? String == "µs")
        for key in ["median", "p99", "reference_median", "ratio"] {
            let value = try #require(row[key] as? Double, "\(key) in \(row)")
            #expect(value.isFinite && value > 0, "\(key) in \(row)")
        }
        #expect(row["target"] as? Double == 1.2)
        let ratio = try #require(row["ratio"] as? Double)
        #expect(row["target_met"] as? Bool == (ratio <= 1.2), "\(row)")
    }
}
