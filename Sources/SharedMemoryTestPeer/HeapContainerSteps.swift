#if canImport(Glibc)
import Glibc
#endif
import SharedMemory

extension Peer {
    /// Steps on the containers of a `SharedHeap` at OFFSET of the current region:
    ///
    ///   heap-map-put OFFSET COUNT ID        open or create the map "map" (String to UInt64) and the array
    ///                                       "array" (UInt64); put "k-ID-I" = ID * 1,000,000 + I and append
    ///                                       that value, for I below COUNT
    ///   heap-map-expect OFFSET KEY VALUE    exit 1 unless "map" holds VALUE for KEY
    ///   heap-container-scribble OFFSET SEED write 1 to 8 random bytes into the first 64 of a random allocation
    ///   heap-container-fuzz OFFSET ROUNDS SEED  ROUNDS of the containers' operations; say "outcomes ok=N CODE=N ..."
    ///   heap-example-read NAME              the reader of Docs/Heap.md's example, on the POSIX region NAME;
    ///                                       say "FRUIT COUNT, ..." after taking one apple
    static let heapContainerSteps: [String: Step] = [
        "heap-map-put": { peer in
            let heap = try SharedHeap(in: try peer.current(), at: peer.nextNumber("heap offset"))
            let count = try peer.nextNumber("count")
            let id = try peer.nextNumber("id")
            let map = try SharedHashMap<String, UInt64>(openingOrCreating: "map", in: heap)
            let array = try SharedArray<UInt64>(openingOrCreating: "array", in: heap)
            for index in 0..<count {
                let value = UInt64(id * 1_000_000 + index)
                guard try map.updateValue(value, forKey: "k-\(id)-\(index)") == nil else { fail(1, "k-\(id)-\(index) was there") }
                try array.append(value)
            }
        },
        "heap-map-expect": { peer in
            let heap = try SharedHeap(in: try peer.current(), at: peer.nextNumber("heap offset"))
            let key = try peer.next("key")
            let expected = UInt64(try peer.nextNumber("value"))
            let found = try SharedHashMap<String, UInt64>(opening: "map", in: heap).value(forKey: key)
            guard found == expected else { fail(1, "map[\(key)] is \(found.map(String.init) ?? "absent"), not \(expected)") }
        },
        "heap-container-scribble": { peer in
            let region = try peer.current()
            let heap = try SharedHeap(in: region, at: peer.nextNumber("heap offset"))
            var random = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            let target = random.pick(try heap.allocations())
            let count = 1 + Int(random.next() % 8)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            try region.write(bytes, at: Int(target.offset.byteOffset) + Int(random.next() % UInt64(max(1, min(64, target.byteCount) - count))))
        },
        "heap-example-read": { peer in
            let name = try peer.next("name")
            // Heap example: reader begins
            let address = try SharedRegionBackend.posix.address(forName: name)
            let heap = try SharedHeap.openInitialized(address, byteCount: 1 << 20)
            let stock = try SharedHashMap<String, Int>(openingOrCreating: "stock", in: heap)
            if let apples = try stock.value(forKey: "apples") {
                try stock.updateValue(apples - 1, forKey: "apples")
            }
            let report = try stock.entries().sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            // Heap example: reader ends
            say(report.joined(separator: ", "))
        },
        "heap-container-fuzz": { peer in
            let region = try peer.current()
            let offset = try peer.nextNumber("heap offset")
            let rounds = try peer.nextNumber("rounds")
            var random = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            var outcomes: [String: Int] = [:]
            func record(_ body: () throws(SharedMemoryError) -> Void) {
                do throws(SharedMemoryError) {
                    try body()
                    outcomes["ok", default: 0] += 1
                } catch {
                    outcomes["\(error.code)", default: 0] += 1
                }
            }
            for _ in 0..<rounds {
                let key = "k-1-\(random.next() % 40)"
                record { () throws(SharedMemoryError) in
                    _ = try SharedHashMap<String, UInt64>(opening: "map", in: SharedHeap(in: region, at: offset)).value(forKey: key)
                }
                record { () throws(SharedMemoryError) in
                    try SharedHashMap<String, UInt64>(opening: "map", in: SharedHeap(in: region, at: offset)).updateValue(1, forKey: key)
                }
                record { () throws(SharedMemoryError) in
                    _ = try SharedHashMap<String, UInt64>(opening: "map", in: SharedHeap(in: region, at: offset)).entries()
                }
                record { () throws(SharedMemoryError) in
                    let array = try SharedArray<UInt64>(opening: "array", in: SharedHeap(in: region, at: offset))
                    try array.append(7)
                    _ = try array.elements()
                    _ = try array[Int(random.next() % 50)]
                }
                record { () throws(SharedMemoryError) in try SharedHeap(in: region, at: offset).verify() }
            }
            say("outcomes " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        },
    ]
}
