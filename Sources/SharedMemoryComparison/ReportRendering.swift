#if canImport(Foundation)
import Foundation
#endif

/// How a report is printed: a table for the terminal, Markdown for documents, JSON for programs,
/// HTML (one self-contained page with charts) for people.
public enum ReportFormat: String, CaseIterable, Sendable {
    case table, markdown, json, html
}

extension ComparisonReport {
    public func rendered(as format: ReportFormat) -> String {
        switch format {
        case .json: json
        case .markdown: markdown
        case .table: table
        case .html: html
        }
    }

    private var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    private var headers: [String] {
        ["section", "mechanism", "metric", "median", "p99", "C median", "ratio", "limit", "ratio to limit", "target"]
    }

    private var rows: [[String]] {
        results.map { result in
            [
                result.section, result.mechanism, result.metric,
                "\(Self.number(result.median)) \(result.unit)", "\(Self.number(result.p99)) \(result.unit)",
                result.referenceMedian.map { "\(Self.number($0)) \(result.unit)" } ?? "",
                result.ratio.map { String(format: "%.2fx", $0) } ?? "",
                result.limitMedian.map { "\(Self.number($0)) \(result.unit)" } ?? "",
                result.limitRatio.map { String(format: "%.2fx", $0) } ?? "",
                result.target.map {
                    "\(result.higherIsBetter ? "≥" : "≤") \(String(format: "%.2fx", $0)): \(result.targetMet == true ? "met" : "missed")"
                } ?? "",
            ]
        }
    }

    private var machineLines: [String] { machine.map { "\($0.key): \($0.value)" } }

    private var table: String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return (machineLines + [""] + [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
            + rows.map(line) + ["", Self.legend]).joined(separator: "\n")
    }

    private var markdown: String {
        let machineTable = ["| fact | value |", "|---|---|"] + machine.map { "| \($0.key) | \($0.value) |" }
        let resultTable = ["| " + headers.joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: headers.count)]
            + rows.map { "| " + $0.joined(separator: " | ") + " |" }
        return (machineTable + [""] + resultTable + ["", Self.legend]).joined(separator: "\n")
    }

    static let legend =
        "ratio = this project's median over C's, measured alternately in the same run. For times (µs, ns) "
        + "below 1 is faster than C; for rates (GB/s, M msg/s) above 1 is faster. p99 is the slowest 1% of "
        + "times or the lowest 1% of rates. limit = the fastest plain C for the job where it differs from the C "
        + "reference (the ring: a C SPSC ring of fixed slots that only spins, not the library's design; the lock: "
        + "glibc's normal process-shared mutex, which cannot report a dead holder, where the reference is its "
        + "robust one); ratio to limit = this row's median over it, from the same rounds. target = the bound the "
        + "ratio must meet (publish-subscribe and events: against the reference the metric names), and whether it did."

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if value >= 100 { return String(format: "%.0f", value) }
        if value >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.3g", value)
    }
}
