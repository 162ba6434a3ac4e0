import CReference
import SharedMemory

extension ComparisonRun {
    static let lockBatch = 1000

    /// `ProcessMutex` beside glibc's process-shared pthread mutex: robust and error-checking, the
    /// same job (the C reference), and normal, the fastest glibc has but blind to a holder's death
    /// (the limit). Uncontended lock + unlock, and a hand-off round trip between two processes
    /// (three mutexes passed around, so that every lock waits for the other process); the three
    /// contenders alternate within each round.
    func locks() throws -> [ComparisonResult] {
        let batch = Self.lockBatch
        let uncontended = try lockRounds(
            iterations: iterations(2_000),
            swift: { try self.swiftUncontendedLock(batch: batch, count: $0) },
            c: { kind, count in
                try self.cSamples("cref_mutex_uncontended", count: count) {
                    cref_mutex_uncontended(Int32(kind.rawValue), Int32(batch), Int32(count), $0)
                }
            })
        let handOff = try lockRounds(
            iterations: iterations(40_000),
            swift: { try self.swiftLockHandOff(count: $0) },
            c: { kind, count in
                try self.cSamples("cref_mutex_round_trip", count: count) {
                    cref_mutex_round_trip(Int32(kind.rawValue), Int32(count), self.parentCPU, self.childCPU, $0)
                }
            })
        return [
            lockRow("uncontended lock + unlock", unit: "ns", uncontended) { Double($0) / Double(batch) },
            lockRow("hand-off round trip between two processes", unit: "µs", handOff) { Double($0) / 1000 },
        ]
    }

    /// Samples of Swift, the robust C mutex and the normal one, `iterations` each, taken in rounds
    /// whose order rotates so that drift of the machine falls on all three alike.
    private func lockRounds(
        iterations: Int, swift: (Int) throws -> [UInt64], c: (cref_mutex, Int) throws -> [UInt64]
    ) throws -> [[UInt64]] {
        let rounds = options.quick ? 2 : 4
        let perRound = max(iterations / rounds, 1)
        var samples = [[UInt64]](repeating: [], count: 3)
        for round in 0..<rounds {
            try cleanUp.checkpoint()
            for step in 0..<3 {
                let index = (round + step) % 3
                samples[index] += try index == 0 ? swift(perRound) : c(index == 1 ? CREF_MUTEX_ROBUST : CREF_MUTEX_NORMAL, perRound)
            }
        }
        return samples
    }

    private func lockRow(_ metric: String, unit: String, _ samples: [[UInt64]], value: (UInt64) -> Double)
        -> ComparisonResult
    {
        let values = samples[0].map(value)
        let median = Statistics.median(values)
        let reference = Statistics.median(samples[1].map(value))
        let limit = Statistics.median(samples[2].map(value))
        return ComparisonResult(
            section: "lock", mechanism: "process mutex", metric: metric, unit: unit, higherIsBetter: false,
            median: median, p99: Statistics.tail(values, higherIsBetter: false),
            referenceMedian: reference, ratio: median / reference, limitMedian: limit, limitRatio: median / limit)
    }

    /// A region for the lock measurements: three mutexes, each on a cache line of its own.
    private func lockRegion() throws -> any SharedRegion {
        let address = try target(.posix, uniqueName("lock")).address
        var regionOptions = SharedRegionOptions()
        regionOptions.prefault = true
        let region = try SharedRegions.open(address, size: 3 * 64, mode: .create, options: regionOptions)
        do {
            for index in 0..<3 { _ = try ProcessMutex.initialize(in: region, at: index * 64) }
            return region
        } catch {
            try? region.remove()
            throw error
        }
    }

    private func swiftUncontendedLock(batch: Int, count: Int) throws -> [UInt64] {
        let region = try lockRegion()
        defer { try? region.remove() }
        let mutex = try ProcessMutex(in: region, at: 0)
        var samples = [UInt64](repeating: 0, count: count)
        for round in -1..<count {  // one untimed batch first, as on the C side
            let start = cref_now_ns()
            for _ in 0..<batch {
                try mutex.lock()
                try mutex.unlock()
            }
            let end = cref_now_ns()
            if round >= 0 { samples[round] = end - start }
        }
        return samples
    }

    /// The C side's hand-off (cref_mutex_round_trip) with three `ProcessMutex`es: this process
    /// holds 0 and 1, the peer 2; at step j this one unlocks j % 3 and locks (j + 2) % 3.
    private func swiftLockHandOff(count: Int) throws -> [UInt64] {
        let warmUp = count / 10
        let total = warmUp + count
        let region = try lockRegion()
        defer { try? region.remove() }
        let mutexes = try (0..<3).map { try ProcessMutex(in: region, at: $0 * 64) }
        try mutexes[0].lock()
        try mutexes[1].lock()
        let peer = try startPeer(["lock-hand-off", region.address.description, "\(total)"])
        var samples = [UInt64](repeating: 0, count: count)
        for step in 0..<total {
            let start = cref_now_ns()
            try mutexes[step % 3].unlock()
            if try mutexes[(step + 2) % 3].lock() == .acquiredPreviousOwnerDied {
                throw ComparisonError("the comparison peer died holding a mutex")
            }
            let end = cref_now_ns()
            if step >= warmUp { samples[step - warmUp] = end - start }
        }
        try peer.finish()
        return samples
    }
}
