#if canImport(Foundation)
import Foundation
#endif

/// The report as one self-contained HTML page: the machine facts, then per section a bar chart
/// of the ratios against C (with the line at 1.0 where both are equal) and the section's table,
/// and a size curve wherever a section measured one mechanism at several message sizes.
/// Charts are inline SVG: the page needs no script, no network and no other file.
extension ComparisonReport {
    var html: String {
        var page = [
            "<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
            "<title>shm compare</title>", "<style>\(Self.style)</style>", "</head>", "<body>",
            "<h1>shm compare</h1>",
            "<p>Every figure measured on this machine through the library's public API, beside the same operation "
                + "in plain C, alternately in the same run.</p>",
            "<h2>Machine</h2>", "<table class=\"machine\">",
        ]
        page += machine.map { "<tr><th>\(Self.escaped($0.key))</th><td>\(Self.escaped($0.value))</td></tr>" }
        page.append("</table>")
        for section in sectionNames {
            let sectionResults = results.filter { $0.section == section }
            page.append("<section id=\"\(Self.anchor(section))\">")
            page.append("<h2>\(Self.escaped(section))</h2>")
            if sectionResults.contains(where: { $0.ratio != nil }) { page.append(Self.ratioChart(sectionResults)) }
            page += Self.sizeCurves(sectionResults)
            page.append(Self.resultTable(sectionResults))
            page.append("</section>")
        }
        page += ["<p class=\"legend\">\(Self.escaped(Self.legend))</p>", "</body>", "</html>"]
        return page.joined(separator: "\n")
    }

    /// Sections in the order the run measured them.
    private var sectionNames: [String] {
        var seen = Set<String>()
        return results.map(\.section).filter { seen.insert($0).inserted }
    }

    private static let style = """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
        th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: left; }
        td.number { text-align: right; font-variant-numeric: tabular-nums; }
        svg { display: block; margin: 0.5em 0; }
        svg text { font: 12px system-ui, sans-serif; fill: #222; }
        .better { fill: #2e8b57; } .worse { fill: #d2691e; } .even { stroke: #222; stroke-dasharray: 4 3; }
        .axis { stroke: #999; } .legend { color: #555; }
        """

    /// One bar per figure measured beside C, drawn from the line at 1.0 (equal to C) to its ratio
    /// on a logarithmic scale, so that 0.5x and 2x are as long and one outlier does not flatten
    /// the rest; green where the library did better than C, orange where worse.
    private static func ratioChart(_ results: [ComparisonResult]) -> String {
        let rows = results.filter { $0.ratio != nil }
        let ratios = rows.compactMap(\.ratio).filter { $0 > 0 }
        let labelWidth = 430.0, barWidth = 520.0, rowHeight = 22.0
        let lowest = log10(min(0.5, (ratios.min() ?? 1) / 1.25)), highest = log10(max(2, (ratios.max() ?? 1) * 1.25))
        func x(_ ratio: Double) -> Double { labelWidth + (log10(ratio) - lowest) / (highest - lowest) * barWidth }
        let height = Double(rows.count) * rowHeight + 30
        var svg = [
            "<svg class=\"ratios\" role=\"img\" width=\"\(Int(labelWidth + barWidth + 60))\" height=\"\(Int(height))\">",
            "<title>ratio to C per figure, logarithmic; the dashed line is 1.0, equal to C</title>",
        ]
        for (index, result) in rows.enumerated() {
            let ratio = max(result.ratio ?? 1, 1e-9)
            let y = Double(index) * rowHeight + 4
            let better = result.higherIsBetter ? ratio >= 1 : ratio <= 1
            let start = min(x(1), x(ratio)), end = max(x(1), x(ratio))
            svg.append(
                "<text x=\"\(labelWidth - 6)\" y=\"\(y + 14)\" text-anchor=\"end\">"
                    + "\(escaped(result.mechanism)): \(escaped(result.metric))</text>")
            svg.append(
                "<rect class=\"\(better ? "better" : "worse")\" x=\(quoted(start)) y=\"\(y + 2)\" "
                    + "width=\(quoted(max(end - start, 1))) height=\"\(rowHeight - 6)\"><title>\(ratioText(ratio)) "
                    + "(\(result.higherIsBetter ? "higher" : "lower") is better)</title></rect>")
            svg.append("<text x=\(quoted(end + 4)) y=\"\(y + 14)\">\(ratioText(ratio))</text>")
        }
        svg.append("<line class=\"even\" x1=\(quoted(x(1))) x2=\(quoted(x(1))) y1=\"0\" y2=\(quoted(height - 20))/>")
        svg.append("<text x=\(quoted(x(1))) y=\(quoted(height - 6)) text-anchor=\"middle\">1.0 = C</text>")
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// A log-log line chart per unit for the mechanisms that a section measured at three or more
    /// message sizes (metrics that start with a size, such as "64 B messages").
    private static func sizeCurves(_ results: [ComparisonResult]) -> [String] {
        let sized = results.compactMap { result in messageSize(result.metric).map { (size: $0, result: result) } }
        var charts: [String] = []
        for unit in Set(sized.map(\.result.unit)).sorted() {
            let points = sized.filter { $0.result.unit == unit }
            var curves: [(mechanism: String, points: [(size: Double, value: Double)])] = []
            for mechanism in Set(points.map(\.result.mechanism)).sorted() {
                let curve = points.filter { $0.result.mechanism == mechanism }.map { (size: $0.size, value: $0.result.median) }
                    .sorted { $0.size < $1.size }
                if Set(curve.map(\.size)).count >= 3 { curves.append((mechanism, curve)) }
            }
            if !curves.isEmpty { charts.append(curveChart(curves, unit: unit)) }
        }
        return charts
    }

    private static let curveColors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    private static func curveChart(_ curves: [(mechanism: String, points: [(size: Double, value: Double)])], unit: String) -> String {
        let width = 760.0, height = 320.0, left = 70.0, bottom = 40.0, top = 20.0, right = 170.0
        let all = curves.flatMap(\.points).filter { $0.value > 0 }
        let sizes = (log2(all.map(\.size).min() ?? 1), log2(all.map(\.size).max() ?? 2))
        let values = (log10(all.map(\.value).min() ?? 1), log10(all.map(\.value).max() ?? 10))
        func x(_ size: Double) -> Double { left + (log2(size) - sizes.0) / max(sizes.1 - sizes.0, 1) * (width - left - right) }
        func y(_ value: Double) -> Double {
            height - bottom - (log10(value) - values.0) / max(values.1 - values.0, 0.5) * (height - top - bottom)
        }
        var svg = [
            "<svg class=\"curve\" role=\"img\" width=\"\(Int(width))\" height=\"\(Int(height))\">",
            "<title>\(escaped(unit)) by message size (both axes logarithmic)</title>",
            "<line class=\"axis\" x1=\(quoted(left)) y1=\(quoted(height - bottom)) x2=\(quoted(width - right)) y2=\(quoted(height - bottom))/>",
            "<line class=\"axis\" x1=\(quoted(left)) y1=\(quoted(top)) x2=\(quoted(left)) y2=\(quoted(height - bottom))/>",
            "<text x=\"10\" y=\"14\">\(escaped(unit))</text>",
            "<text x=\(quoted(width - right)) y=\(quoted(height - 6)) text-anchor=\"end\">message size</text>",
        ]
        for size in Set(all.map(\.size)).sorted() {
            svg.append("<text x=\(quoted(x(size))) y=\(quoted(height - bottom + 16)) text-anchor=\"middle\">\(sizeText(size))</text>")
        }
        for value in [values.0, values.1] {
            let shown = pow(10, value)
            svg.append("<text x=\(quoted(left - 6)) y=\(quoted(y(shown) + 4)) text-anchor=\"end\">\(number(shown))</text>")
        }
        for (index, curve) in curves.enumerated() {
            let color = curveColors[index % curveColors.count]
            let path = curve.points.filter { $0.value > 0 }.map { "\(format(x($0.size))),\(format(y($0.value)))" }
            svg.append("<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path.joined(separator: " "))\"/>")
            let legendY = top + Double(index) * 18 + 10
            svg.append(
                "<rect x=\(quoted(width - right + 15)) y=\(quoted(legendY - 9)) width=\"12\" height=\"10\" fill=\"\(color)\"/>"
                    + "<text x=\(quoted(width - right + 32)) y=\(quoted(legendY))>\(escaped(curve.mechanism))</text>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    private static func resultTable(_ results: [ComparisonResult]) -> String {
        var table = ["<table class=\"results\">", "<tr><th>mechanism</th><th>metric</th><th>median</th><th>p99</th><th>C median</th><th>ratio</th></tr>"]
        for result in results {
            let cells = [
                "\(number(result.median)) \(result.unit)", "\(number(result.p99)) \(result.unit)",
                result.referenceMedian.map { "\(number($0)) \(result.unit)" } ?? "", result.ratio.map(ratioText) ?? "",
            ]
            table.append(
                "<tr><td>\(escaped(result.mechanism))</td><td>\(escaped(result.metric))</td>"
                    + cells.map { "<td class=\"number\">\(escaped($0))</td>" }.joined() + "</tr>")
        }
        table.append("</table>")
        return table.joined(separator: "\n")
    }

    /// The size a metric starts with ("64 B messages", "4 KiB payload"), in bytes.
    static func messageSize(_ metric: String) -> Double? {
        let words = metric.split(separator: " ")
        guard words.count >= 2, let count = Double(words[0]) else { return nil }
        let units: [Substring: Double] = ["B": 1, "KiB": 1024, "MiB": 1024 * 1024, "GiB": 1024 * 1024 * 1024]
        return units[words[1]].map { count * $0 }
    }

    /// "64 B", "4 KiB", "1.5 MiB": swept sizes are whole numbers of their unit, and read best so.
    static func sizeText(_ bytes: Double) -> String {
        let (unit, scale) = [("GiB", 1024.0 * 1024 * 1024), ("MiB", 1024.0 * 1024), ("KiB", 1024.0)]
            .first { bytes >= $0.1 } ?? ("B", 1)
        let count = bytes / scale
        return "\(count == count.rounded() ? String(Int(count)) : number(count)) \(unit)"
    }

    private static func ratioText(_ ratio: Double) -> String { String(format: "%.2fx", ratio) }
    private static func format(_ value: Double) -> String { String(format: "%.1f", value) }
    private static func quoted(_ value: Double) -> String { "\"\(format(value))\"" }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func anchor(_ section: String) -> String {
        String(section.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}
