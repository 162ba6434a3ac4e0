/// Medians and tails of samples.
enum Statistics {
    /// The value at quantile `q` (0…1) of sorted `values`, nearest rank.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((q * Double(sorted.count - 1)).rounded())
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func median(_ values: [Double]) -> Double { quantile(values.sorted(), 0.5) }

    /// The 99th percentile in the worse direction.
    static func tail(_ values: [Double], higherIsBetter: Bool) -> Double {
        quantile(values.sorted(), higherIsBetter ? 0.01 : 0.99)
    }
}
