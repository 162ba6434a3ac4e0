#if canImport(Glibc)
import Glibc
#endif
import SharedMemory

extension Peer {
    /// Steps on the named objects of a `SharedHeap` at OFFSET of the current region:
    ///
    ///   heap-race OFFSET NAMES ID             findOrConstruct "race-0" ... "race-(NAMES-1)" holding UInt64 ID;
    ///                                         exit 1 if a found value is not a racer's id (1...99);
    ///                                         say "constructed N"
    ///   heap-construct-forever OFFSET SEED N  construct named arrays ("k-I", I bytes of `namedByte(I, J)`) and
    ///                                         destroy random ones (at most 8 live), without end;
    ///                                         say "ready" after N operations (to be killed)
    ///   heap-scribble-names OFFSET SEED       write 1 to 8 random bytes into the name table or a record
    ///   heap-fuzz-names OFFSET ROUNDS SEED    ROUNDS of find, findOrConstruct, destroy, namedObjects and
    ///                                         verify; say "outcomes ok=N CODE=N ..."
    static let heapNameSteps: [String: Step] = [
        "heap-race": { peer in
            let heap = try SharedHeap(in: try peer.current(), at: peer.nextNumber("heap offset"))
            let names = try peer.nextNumber("names")
            let id = UInt64(try peer.nextNumber("id"))
            var constructed = 0
            for index in 0..<names {
                let (offset, mine) = try heap.findOrConstruct("race-\(index)", id)
                let value = try offset.load(from: heap.region)
                guard (1...99).contains(value), !mine || value == id else { fail(1, "race-\(index) holds \(value)") }
                if mine { constructed += 1 }
            }
            say("constructed \(constructed)")
        },
        "heap-construct-forever": { peer in
            let heap = try SharedHeap(in: try peer.current(), at: peer.nextNumber("heap offset"))
            var random = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            let readyAfter = try peer.nextNumber("operations before ready")
            var live: [Int] = []
            var operations = 0
            var next = 0
            while true {
                if operations == readyAfter { say("ready") }
                operations += 1
                if live.count < 8 && (live.isEmpty || random.next() % 3 != 0) {
                    let count = Int(random.next() % 200)
                    _ = try heap.construct("k-\(next)", array: (0..<count).map { namedByte(next, $0) })
                    live.append(next)
                    next += 1
                } else {
                    let index = live.remove(at: Int(random.next() % UInt64(live.count)))
                    guard try heap.destroy("k-\(index)") else { fail(1, "k-\(index) was not there to destroy") }
                }
            }
        },
        "heap-scribble-names": { peer in
            let region = try peer.current()
            let heap = try SharedHeap(in: region, at: peer.nextNumber("heap offset"))
            var random = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            // The name table's first bytes, or the first bytes of a record (value offset - 64 - names).
            let table = Int(try region.load(UInt64.self, at: heap.offset + 56))
            let records = try heap.namedObjects().map { Int($0.offset.byteOffset) - 64 - $0.name.utf8.count - $0.type.name.utf8.count }
            let target = random.next() % 2 == 0 || records.isEmpty ? table : random.pick(records)
            let count = 1 + Int(random.next() % 8)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            try region.write(bytes, at: target + Int(random.next() % 96))
        },
        "heap-fuzz-names": { peer in
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
            for round in 0..<rounds {
                let name = "n-\(random.next() % 12)"
                record { () throws(SharedMemoryError) in _ = try SharedHeap(in: region, at: offset).find(name, as: UInt64.self) }
                record { () throws(SharedMemoryError) in
                    _ = try SharedHeap(in: region, at: offset).findOrConstruct("f-\(round)", UInt32(7))
                }
                record { () throws(SharedMemoryError) in _ = try SharedHeap(in: region, at: offset).destroy(name) }
                record { () throws(SharedMemoryError) in
                    for object in try SharedHeap(in: region, at: offset).namedObjects() {
                        _ = try region.read(at: Int(object.offset.byteOffset), count: object.byteCount)
                    }
                }
                record { () throws(SharedMemoryError) in try SharedHeap(in: region, at: offset).verify() }
            }
            say("outcomes " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        },
    ]

    /// The byte at `index` of the named array "k-`name`" that `heap-construct-forever` makes.
    static func namedByte(_ name: Int, _ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: name &* 31 &+ index) }
}
