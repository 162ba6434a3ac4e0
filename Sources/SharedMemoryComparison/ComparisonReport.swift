/// What `shm compare` found: the machine, and one result per measured figure.
public struct ComparisonReport: Sendable, Encodable {
    /// Facts that explain the numbers (CPU, kernel, THP for shmem, `/dev/shm` size, limits), in order.
    public var machine: [(key: String, value: String)]
    public var results: [ComparisonResult]

    enum CodingKeys: String, CodingKey { case machine, results }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Dictionary(machine.map { ($0.key, $0.value) }) { first, _ in first }, forKey: .machine)
        try container.encode(results, forKey: .results)
    }
}

/// One figure: the library's median and p99, and where C was measured beside it in the same
/// run, C's median and the ratio of the two (this project over C).
public struct ComparisonResult: Sendable, Codable, Hashable {
    public var section: String
    public var mechanism: String
    public var metric: String
    public var unit: String
    /// Whether a larger number is better (bandwidth, throughput) or worse (time).
    public var higherIsBetter: Bool
    public var median: Double
    /// The 99th percentile of the samples in the worse direction: the slowest 1% of times,
    /// or the lowest 1% of rates.
    public var p99: Double
    public var referenceMedian: Double?
    /// `median / referenceMedian`: below 1 is faster than C for times, slower for rates.
    public var ratio: Double?
    /// Where the job has a limit distinct from the C reference (the ring: the fastest SPSC ring
    /// plain C does, not a copy of the library's design), that limit's median in the same run.
    public var limitMedian: Double? = nil
    /// `median / limitMedian`: for rates, the share of the limit reached.
    public var limitRatio: Double? = nil
    /// Where the job states a target for `ratio`, its bound: the least ratio for rates, the
    /// greatest for times.
    public var target: Double? = nil
    /// Whether `ratio` meets `target`.
    public var targetMet: Bool? = nil

    enum CodingKeys: String, CodingKey {
        case section, mechanism, metric, unit, median, p99, ratio
        case higherIsBetter = "higher_is_better"
        case referenceMedian = "reference_median"
        case limitMedian = "limit_median"
        case limitRatio = "limit_ratio"
        case target
        case targetMet = "target_met"
    }
}
