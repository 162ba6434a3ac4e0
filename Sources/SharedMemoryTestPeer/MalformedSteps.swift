#if canImport(Glibc)
import Glibc
#endif
import SeededRandom
import SharedMemory
import Synchronization

// Steps for the malformed-region suite. One peer writes bytes over a structure, another uses it:
//
//   corrupt OFFSET SEED RANDOM TEMPLATE [WIDTHS]
//                                        say "cases N" (every hand-picked case and RANDOM random ones);
//                                        for each, write its bytes (see RegionMutation) over the
//                                        structure at OFFSET, say "case N HEX", and wait for a line;
//                                        WIDTHS (such as 8,4) limits the hand-picked fields' widths
//   scribble OFFSET SEED STOP TEMPLATE [WIDTHS]
//                                        write cases over the structure at OFFSET, one after another,
//                                        until the Int at STOP is not 0; say "scribbled N"
//   use KIND OFFSET ADDRESS              for each line read, use the structure KIND (once, views,
//                                        mutex, ring) at OFFSET of the region at ADDRESS once, and say what
//                                        came of each call: a word, "error:CODE", or "untyped:..."
//   use-rounds KIND OFFSET ADDRESS N     use it N times without waiting; say "outcomes NAME=N ..."
extension Peer {
    static let malformedSteps: [String: Step] = [
        "corrupt": { peer in
            let region = try peer.current()
            let offset = try peer.nextNumber("offset")
            let seed = UInt64(try peer.nextNumber("seed"))
            let count = try peer.nextNumber("count")
            let mutation = RegionMutation(
                template: try bytes(fromHex: peer.next("template")), seed: seed, widths: try peer.nextWidths())
            say("cases \(mutation.handPicked + count)")
            for index in 0..<(mutation.handPicked + count) {
                let image = mutation.image(index)
                try region.write(image, at: offset)
                say("case \(index) \(hex(image))")
                guard readLine() != nil else { return }
            }
        },
        "scribble": { peer in
            let region = try peer.current()
            let offset = try peer.nextNumber("offset")
            let seed = UInt64(try peer.nextNumber("seed"))
            let stop = try SharedAtomic<Int>(in: region, at: peer.nextNumber("stop offset"))
            let mutation = RegionMutation(
                template: try bytes(fromHex: peer.next("template")), seed: seed, widths: try peer.nextWidths())
            var index = 0
            repeat {
                try region.write(mutation.image(index), at: offset)
                index += 1
            } while stop.withAtomic { $0.load(ordering: .acquiring) } == 0
            say("scribbled \(index)")
        },
        "use": { peer in
            let user = try StructureUser(kind: peer.next("kind"), offset: peer.nextNumber("offset"), address: peer.next("address"))
            while readLine() != nil { say(user.use()) }
        },
        "use-rounds": { peer in
            let user = try StructureUser(kind: peer.next("kind"), offset: peer.nextNumber("offset"), address: peer.next("address"))
            var counts: [String: Int] = [:]
            for _ in 0..<(try peer.nextNumber("rounds")) {
                for outcome in user.use().split(separator: " ") { counts[String(outcome), default: 0] += 1 }
            }
            say("outcomes " + counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        },
    ]
}

extension Peer {
    /// The optional field widths of `corrupt` and `scribble`: all of 8, 4, 2 and 1 unless given.
    mutating func nextWidths() throws -> [Int] {
        guard let list = arguments.first, list.contains(",") || Int(list) != nil else { return [8, 4, 2, 1] }
        arguments.removeFirst()
        return try list.split(separator: ",").map { width in
            guard let width = Int(width), [1, 2, 4, 8].contains(width) else { throw PeerError("bad width \(width)") }
            return width
        }
    }
}

/// The cases written over a structure, a pure function of the valid bytes (`template`), the seed
/// and the case number, so that any one case can be made again from the three. First every
/// hand-picked case: each aligned field of the widths given (1, 2, 4 and 8 bytes) set to each of
/// `RegionMutation.values`; then random ones: all bytes random, bits flipped, a random stretch
/// random, or two fields set at once.
struct RegionMutation {
    let template: [UInt8]
    let seed: UInt64
    let fields: [(offset: Int, width: Int)]

    /// Values that break rules: zero, one past small limits, sign boundaries, extremes, this
    /// process's pid (alive, but not the one that should be there) in both halves.
    static let values: [UInt64] = [
        0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, UInt64(Int64.max), UInt64(bitPattern: Int64.min), UInt64.max,
        UInt64(getpid()), UInt64(getpid()) << 32 | 1, UInt64(getpid()) << 32 | 2,
    ]

    init(template: [UInt8], seed: UInt64, widths: [Int]) {
        self.template = template
        self.seed = seed
        fields = widths.flatMap { width in
            stride(from: 0, through: template.count - width, by: width).map { ($0, width) }
        }
    }

    var handPicked: Int { fields.count * Self.values.count }

    func image(_ index: Int) -> [UInt8] {
        var image = template
        if index < handPicked {
            let field = fields[index / Self.values.count]
            Self.set(&image, field, Self.values[index % Self.values.count])
            return image
        }
        var random = SeededRandom(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        switch random.next() % 4 {
        case 0:
            image = image.map { _ in UInt8(truncatingIfNeeded: random.next()) }
        case 1:
            for _ in 0...(random.next() % 8) {
                let bit = Int(random.next() % UInt64(image.count * 8))
                image[bit / 8] ^= 1 << (bit % 8)
            }
        case 2:
            let start = Int(random.next() % UInt64(image.count))
            let end = start + Int(random.next() % UInt64(image.count - start)) + 1
            for position in start..<end { image[position] = UInt8(truncatingIfNeeded: random.next()) }
        default:
            for _ in 0..<2 {
                let field = fields[Int(random.next() % UInt64(fields.count))]
                let value = random.next() % 2 == 0 ? Self.values[Int(random.next() % UInt64(Self.values.count))] : random.next()
                Self.set(&image, field, value)
            }
        }
        return image
    }

    private static func set(_ image: inout [UInt8], _ field: (offset: Int, width: Int), _ value: UInt64) {
        for byte in 0..<field.width { image[field.offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
    }
}

/// Uses one structure the way a program would, after another process wrote over it.
struct StructureUser {
    let kind: String
    let offset: Int
    let address: RegionAddress
    let region: any SharedRegion

    /// The once-only layout the malformed-region suite uses.
    static let layout = try! RegionLayout(name: "malformed", version: 1, payloadByteCount: 192)

    init(kind: String, offset: Int, address: String) throws {
        guard ["once", "views", "mutex", "ring"].contains(kind) else { throw PeerError("unknown structure \(kind)") }
        self.kind = kind
        self.offset = offset
        self.address = try RegionAddress(parsing: address)
        region = try SharedRegions.open(self.address, mode: .open)
    }

    /// What came of each call of one use, space-separated: a word for a success, "error:CODE"
    /// for a typed error, "untyped:..." for any other error or one without a hint.
    func use() -> String {
        switch kind {
        case "once":
            return outcome {
                // No wait for an initializer that looks alive: a peer's pid in the header is no promise.
                let opened = try SharedRegions.openInitialized(address, layout: Self.layout, timeout: .zero) { fresh in
                    try fresh.region.store(UInt64(0xA5A5), at: fresh.payloadOffset)
                }
                _ = try opened.region.load(UInt64.self, at: opened.payloadOffset)
                return opened.initializedHere ? "initialized" : "opened"
            }
        case "views":
            // An offset, a step, a count and a start, all as a peer left them, followed as a program would.
            let target = outcome { () throws(SharedMemoryError) in
                let stored = try region.load(RegionOffset<UInt64>.self, at: offset)
                let step = Int(try region.load(Int32.self, at: offset + 8))
                _ = try stored.load(from: region)
                _ = try stored.advanced(by: step).load(from: region)
                _ = try stored.pointer(in: region)
                return "followed"
            }
            let array = outcome { () throws(SharedMemoryError) in
                let count = Int(try region.load(Int64.self, at: offset + 16))
                let start = Int(try region.load(Int64.self, at: offset + 24))
                _ = try region.loadArray(of: UInt16.self, at: start, count: count)
                try region.storeArray([UInt32](repeating: 7, count: max(0, min(count, 64))), at: start)
                return "copied"
            }
            return target + " " + array
        case "ring":
            // Each side attaches afresh, as a program that opened the region would, and tries once.
            let sent = outcome {
                var producer = try SPSCRing.Producer(in: region, at: offset)
                return try [UInt8](repeating: 0x5A, count: 40).withUnsafeBytes { try producer.trySend($0) } ? "sent" : "full"
            }
            let received = outcome {
                var consumer = try SPSCRing.Consumer(in: region, at: offset)
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 8)
                defer { buffer.deallocate() }
                return try consumer.tryReceive(into: buffer) == nil ? "empty" : "received"
            }
            let peeked = outcome {
                var consumer = try SPSCRing.Consumer(in: region, at: offset)
                guard let message = try consumer.peek() else { return "empty" }
                _ = message.reduce(0, &+)  // read every byte the length claims
                consumer.release()
                return "peeked"
            }
            return [sent, received, peeked].joined(separator: " ")
        default:
            let mutex: ProcessMutex
            do {
                mutex = try ProcessMutex(in: region, at: offset)
            } catch {
                return Self.name(error)
            }
            return [
                outcome { try Self.release(mutex, mutex.tryLock()) },
                outcome { try Self.release(mutex, mutex.lock(timeout: .microseconds(200))) },
                outcome { try mutex.markConsistent(); return "consistent" },
                outcome { try mutex.unlock(); return "unlocked" },
            ].joined(separator: " ")
        }
    }

    /// Unlocks what was acquired, repairing it first if its owner died.
    private static func release(_ mutex: ProcessMutex, _ acquisition: ProcessMutex.Acquisition?) throws -> String {
        guard let acquisition else { return "held" }
        if acquisition == .acquiredPreviousOwnerDied { try mutex.markConsistent() }
        try mutex.unlock()
        return acquisition == .acquired ? "acquired" : "ownerDied"
    }

    private func outcome(_ body: () throws -> String) -> String {
        do {
            return try body()
        } catch {
            return Self.name(error)
        }
    }

    /// "error:CODE" for a typed error with a hint; "untyped:..." for anything else.
    private static func name(_ error: any Error) -> String {
        guard let error = error as? SharedMemoryError else { return "untyped:\(type(of: error))" }
        return error.hint.isEmpty ? "untyped:no-hint-\(error.code)" : "error:\(error.code)"
    }
}
