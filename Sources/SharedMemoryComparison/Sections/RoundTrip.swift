import CReference
import SharedMemory

extension ComparisonRun {
    /// The two processes hand a token back and forth; one sample is one round trip.
    func roundTrips() throws -> [ComparisonResult] {
        var results: [ComparisonResult] = []
        let kinds: [(name: String, c: cref_round_trip, iterations: Int)] = [
            ("spin", CREF_SPIN, 200_000), ("futex", CREF_FUTEX, 40_000), ("sysv semaphore", CREF_SEMAPHORE, 40_000),
        ]
        for kind in kinds {
            try cleanUp.checkpoint()
            results.append(
                try compare(
                    section: "round trip", mechanism: kind.name, metric: "round trip between two processes",
                    unit: "µs", iterations: iterations(kind.iterations), value: { Double($0) / 1000 },
                    swift: { count in try swiftRoundTrip(kind.name, count) },
                    c: { count in
                        try self.cSamples("cref_round_trip", count: count) {
                            cref_round_trip(Int32(kind.c.rawValue), Int32(count), self.parentCPU, self.childCPU, $0)
                        }
                    }))
        }
        let baselines: [(name: String, c: cref_round_trip)] = [
            ("pipe", CREF_PIPE), ("unix socket pair", CREF_SOCKETPAIR), ("sysv message queue", CREF_MESSAGE_QUEUE),
        ]
        for kind in baselines {
            try cleanUp.checkpoint()
            let count = iterations(40_000)
            let samples = try self.cSamples("cref_round_trip", count: count) {
                cref_round_trip(Int32(kind.c.rawValue), Int32(count), self.parentCPU, self.childCPU, $0)
            }
            results.append(
                baseline(
                    section: "round trip", mechanism: kind.name, metric: "round trip between two processes (C)",
                    unit: "µs", samples: samples, value: { Double($0) / 1000 }))
        }
        return results
    }

    /// `count` round trips of `kind` between this process and a comparison peer.
    private func swiftRoundTrip(_ kind: String, _ count: Int) throws -> [UInt64] {
        let warmUp = count / 10
        let total = warmUp + count
        var samples = [UInt64](repeating: 0, count: count)
        if kind == "sysv semaphore" {
            let address = try SharedRegionBackend.systemV.address(forName: uniqueName("sem"))
            cleanUp.register(address)
            let set = try SystemVSemaphoreSet(address, count: 2, mode: .create)
            defer { try? set.remove() }
            let peer = try startPeer(["round-trip", kind, address.description, "\(total)"])
            for index in 0..<total {
                let start = cref_now_ns()
                _ = try set.apply([.signal(0)])
                _ = try set.apply([.wait(1)])
                if index >= warmUp { samples[index - warmUp] = cref_now_ns() - start }
            }
            try peer.finish()
            return samples
        }
        let address = try target(.posix, uniqueName("trip")).address
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        defer { try? region.remove() }
        let peer = try startPeer(["round-trip", kind, address.description, "\(total)"])
        if kind == "spin" {
            let word = try SharedAtomic<UInt64>(in: region, at: 0)
            for index in 0..<total {
                let token = UInt64(2 * index + 1)
                let start = cref_now_ns()
                word.withAtomic { $0.store(token, ordering: .releasing) }
                while word.withAtomic({ $0.load(ordering: .acquiring) }) != token + 1 {}
                if index >= warmUp { samples[index - warmUp] = cref_now_ns() - start }
            }
        } else {
            let word = try FutexWord(in: region, at: 0)
            for index in 0..<total {
                let token = UInt32(truncatingIfNeeded: 2 * index + 1)
                let start = cref_now_ns()
                word.store(token)
                word.wake()
                while word.load() == token { _ = try word.wait(whileValueIs: token) }
                if index >= warmUp { samples[index - warmUp] = cref_now_ns() - start }
            }
        }
        try peer.finish()
        return samples
    }

    /// Starts the comparison peer pinned to the child CPU and waits until it is ready.
    func startPeer(_ arguments: [String]) throws -> PeerProcess {
        let peer = try PeerProcess(options.peerCommand, arguments + ["\(self.childCPU)"])
        if parentCPU >= 0 { _ = cref_pin_to_cpu(parentCPU) }
        try peer.waitUntilReady()
        return peer
    }
}
