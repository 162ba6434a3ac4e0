import Foundation
@testable import SharedMemoryComparison
import Testing

/// `shm compare --format html`: one page a browser opens without any other file, with a ratio
/// chart per section measured beside C and a size curve where a section swept message sizes.
@Suite("shm compare's HTML page")
struct ReportPageTests {
    static func result(_ section: String, _ mechanism: String, _ metric: String, median: Double, ratio: Double?) -> SharedMemoryComparison.ComparisonResult {
        SharedMemoryComparison.ComparisonResult(
            section: section, mechanism: mechanism, metric: metric, unit: "M msg/s", higherIsBetter: true, median: median,
            p99: median / 2, referenceMedian: ratio.map { median / $0 }, ratio: ratio)
    }

    static let report = ComparisonReport(
        machine: [(key: "cpu", value: "<test & cpu>"), (key: "kernel", value: "Linux")],
        results: [
            result("round trip", "futex", "round trip between two processes", median: 5, ratio: 1.02),
            result("round trip", "pipe", "round trip between two processes (C)", median: 11, ratio: nil),
            result("sizes", "spsc ring", "8 B messages", median: 40, ratio: 0.9),
            result("sizes", "spsc ring", "4 KiB messages", median: 4, ratio: 0.8),
            result("sizes", "spsc ring", "1 MiB messages", median: 0.02, ratio: 0.95),
            result("sizes", "pipe", "8 B messages", median: 3, ratio: nil),
            result("sizes", "pipe", "4 KiB messages", median: 2, ratio: nil),
            result("sizes", "pipe", "1 MiB messages", median: 0.01, ratio: nil),
        ])

    static func count(_ needle: String, in page: String) -> Int { page.components(separatedBy: needle).count - 1 }

    @Test("the page holds the facts, one ratio chart per section, a curve per sweep, and nothing from outside")
    func structure() {
        let page = Self.report.rendered(as: .html)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.hasSuffix("</html>"))
        #expect(page.contains("&lt;test &amp; cpu&gt;"), "machine facts are escaped")
        #expect(Self.count("<section", in: page) == 2)
        #expect(Self.count("<svg class=\"ratios\"", in: page) == 2)
        #expect(Self.count("<svg class=\"curve\"", in: page) == 1)
        #expect(Self.count("<polyline", in: page) == 2, "one curve for the ring, one for the pipe")
        #expect(Self.count("<rect class=", in: page) == 4, "one bar per figure that has a ratio")
        #expect(Self.count("1.0 = C", in: page) == 2)
        for tag in ["svg", "table", "section", "tr"] {
            #expect(Self.count("<\(tag)", in: page) == Self.count("</\(tag)>", in: page), "<\(tag)> balanced")
        }
        for outside in ["<script", "src=", "href=", "@import", "url("] { #expect(!page.contains(outside), "\(outside)") }
    }

    @Test("message sizes are read from metrics that start with one")
    func sizes() {
        #expect(ComparisonReport.messageSize("64 B messages") == 64)
        #expect(ComparisonReport.messageSize("4 KiB payload") == 4096)
        #expect(ComparisonReport.messageSize("1 MiB messages") == 1_048_576)
        #expect(ComparisonReport.messageSize("round trip between two processes") == nil)
        #expect(ComparisonReport.messageSize("create, map, unmap, remove 4 KiB") == nil)
    }

    @Test("the size curves label sizes as their metrics name them", arguments: [
        (8.0, "8 B"), (64, "64 B"), (4096, "4 KiB"), (1_048_576, "1 MiB"), (1536, "1.5 KiB"),
    ])
    func sizeLabels(bytes: Double, label: String) {
        #expect(ComparisonReport.sizeText(bytes) == label)
    }

    @Test("shm compare --format html --output writes the page")
    func commandLine() throws {
        let path = NSTemporaryDirectory() + "/" + TestNames.unique("report") + ".html"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try ChildProcess(
            "shm", ["compare", "--quick", "--section", "copy bandwidth", "--format", "html", "--output", path, "--allow-debug-build"]
        ).finish()
        #expect(result.status == 0, "\(result.errors)")
        let page = try String(contentsOfFile: path, encoding: .utf8)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.contains("<h2>copy bandwidth</h2>"))
        #expect(Self.count("<svg class=\"ratios\"", in: page) == 1)
    }
}
