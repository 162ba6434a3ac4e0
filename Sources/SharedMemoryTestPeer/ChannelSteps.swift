import SharedMemory

extension Peer {
    /// Steps on an SPSCRing at offset 0 of the current region:
    ///
    ///   ring-produce COUNT MAXSIZE DELAY   send COUNT test messages (see `RingMessage`),
    ///                                      busy-working DELAY iterations between them
    ///   ring-consume COUNT MAXSIZE DELAY   receive and check COUNT of them, then say "received COUNT"
    ///   ring-handoffs-produce TARGET SEED  send numbered messages, never spinning before a sleep and
    ///                                      pausing at random, until both sides together have announced
    ///                                      a sleep TARGET times; then an end mark; say
    ///                                      "sent N announced A slept S woke W"
    ///   ring-handoffs-consume SEED         receive numbered messages in order until the end mark, pausing
    ///                                      at random; say "received N"
    /// Every wait of the hand-off steps is bounded by `RingHandoff.timeout`: a lost wake-up fails them.
    ///   channels-example-consume NAME      the consumer of Docs/Channels.md's example, on the POSIX
    ///                                      region NAME; say "orders COUNT, last ORDER"
    ///   channels-example-listen NAME       the listener of Docs/Channels.md's events example, on the
    ///                                      POSIX event service NAME; say "alarms [IDS]"
    static let channelSteps: [String: Step] = [
        "ring-produce": { peer in
            let count = try peer.nextNumber("count")
            let maximum = try peer.nextNumber("maximum size")
            let delay = try peer.nextNumber("delay")
            var producer = try SPSCRing.Producer(in: peer.current())
            var scratch = [UInt8](repeating: 0, count: maximum)
            for index in 0..<count {
                let size = RingMessage.size(index, maximum: maximum)
                RingMessage.fill(&scratch, index: index, size: size)
                _ = try scratch.withUnsafeBytes { bytes throws(SharedMemoryError) in
                    try producer.send(UnsafeRawBufferPointer(rebasing: bytes[..<size]))
                }
                RingMessage.busyWork(delay)
            }
        },
        "ring-consume": { peer in
            let count = try peer.nextNumber("count")
            let maximum = try peer.nextNumber("maximum size")
            let delay = try peer.nextNumber("delay")
            var consumer = try SPSCRing.Consumer(in: peer.current())
            for index in 0..<count {
                guard let message = try consumer.waitForMessage() else { throw PeerError("no message") }
                guard RingMessage.check(message, index: index, maximum: maximum) else {
                    fail(1, "message \(index) is wrong: \(message.count) bytes")
                }
                consumer.release()
                RingMessage.busyWork(delay)
            }
            say("received \(count)")
        },
        "ring-handoffs-produce": { peer in
            let target = UInt64(try peer.nextNumber("target"))
            var pauses = RingHandoff.Pauses(seed: try peer.nextNumber("seed"), side: 0)
            var producer = try SPSCRing.Producer(in: peer.current())
            var sent: UInt64 = 0
            func send(_ value: UInt64) throws {
                let accepted = try withUnsafeBytes(of: value) { bytes throws(SharedMemoryError) in
                    try producer.send(bytes, timeout: RingHandoff.timeout, strategy: RingHandoff.noSpinning)
                }
                guard accepted else { fail(1, "send \(value) waited \(RingHandoff.timeout): a lost wake-up") }
            }
            while sent < RingHandoff.maximumMessages {
                if sent % 1024 == 0 {
                    let counters = producer.counters
                    if counters.producerBarriers + counters.consumerBarriers >= target { break }
                }
                try send(sent)
                sent += 1
                pauses.pause(sent)
            }
            try send(RingHandoff.end)
            let counters = producer.counters
            say(
                "sent \(sent) announced \(counters.producerBarriers + counters.consumerBarriers) "
                    + "slept \(counters.producerWaits + counters.consumerWaits) "
                    + "woke \(counters.producerWakes + counters.consumerWakes)")
        },
        "ring-handoffs-consume": { peer in
            var pauses = RingHandoff.Pauses(seed: try peer.nextNumber("seed"), side: 1)
            var consumer = try SPSCRing.Consumer(in: peer.current())
            var received: UInt64 = 0
            while true {
                guard let message = try consumer.waitForMessage(timeout: RingHandoff.timeout, strategy: RingHandoff.noSpinning)
                else { fail(1, "message \(received) waited \(RingHandoff.timeout): a lost wake-up") }
                guard message.count == 8 else { fail(1, "message \(received) has \(message.count) bytes") }
                let value = message.loadUnaligned(as: UInt64.self)
                consumer.release()
                if value == RingHandoff.end { break }
                guard value == received else { fail(1, "message \(received) holds \(value)") }
                received += 1
                pauses.pause(received)
            }
            say("received \(received)")
        },
        "channels-example-listen": { peer in
            let name = try peer.next("name")
            // Channels example: listener begins
            let address = try SharedRegionBackend.posix.address(forName: name)
            let service = try EventService(openingOrCreating: address, configuration: EventConfiguration(maxEventID: 63))
            let listener = try Listener(service: service)
            var alarms: Set<Int> = []
            while !alarms.contains(0) {  // id 0: the notifier is done
                let fired = try listener.wait(timeout: .seconds(10))
                if fired.isEmpty { break }  // nothing within 10 s
                alarms.formUnion(fired.eventIDs)
            }
            // Channels example: listener ends
            say("alarms \(alarms.sorted())")
        },
        "channels-example-consume": { peer in
            let name = try peer.next("name")
            // Channels example: consumer begins
            let address = try SharedRegionBackend.posix.address(forName: name)
            var consumer = try SPSCRing.Consumer(openingOrCreating: address, capacity: 1 << 16)
            var orders: [String] = []
            while let message = try consumer.receive(timeout: .seconds(10)), message != Array("end".utf8) {
                orders.append(String(decoding: message, as: UTF8.self))
            }
            // Channels example: consumer ends
            say("orders \(orders.count), last \(orders.last ?? "none")")
        },
    ]
}

/// The sleep and wake-up hand-off test: each side sleeps as soon as it finds nothing to do, and
/// pauses at random so that either may be the one asleep.
enum RingHandoff {
    static let timeout = Duration.seconds(20)
    static let noSpinning = SpinThenWait(spins: 0)
    static let end = UInt64.max
    /// A bound, so that a protocol that rarely sleeps fails the test's count instead of running on.
    static let maximumMessages: UInt64 = 50_000_000

    /// Random pauses (xorshift, seeded): in alternate stretches of 4096 messages one side is the
    /// slower one, so the other finds the ring empty (or full) and sleeps.
    struct Pauses {
        var state: UInt64
        let side: UInt64

        init(seed: Int, side: UInt64) {
            state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
            self.side = side
        }

        mutating func pause(_ index: UInt64) {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let slower = (index >> 12) & 1 == side
            let bound: UInt64 = slower ? 400 : 40
            RingMessage.busyWork(Int(state % bound))
        }
    }
}

/// The test messages: their size cycles through every length up to the maximum (so records
/// wrap at every position), and their bytes derive from their index (so any loss,
/// duplication, reordering or corruption shows).
enum RingMessage {
    static func size(_ index: Int, maximum: Int) -> Int { (index &* 7) % (maximum + 1) }

    static func byte(_ index: Int, _ position: Int) -> UInt8 { UInt8(truncatingIfNeeded: index &* 31 &+ position) }

    static func fill(_ buffer: inout [UInt8], index: Int, size: Int) {
        for position in 0..<size { buffer[position] = byte(index, position) }
    }

    static func check(_ message: UnsafeRawBufferPointer, index: Int, maximum: Int) -> Bool {
        guard message.count == size(index, maximum: maximum) else { return false }
        for position in 0..<message.count where message[position] != byte(index, position) { return false }
        return true
    }

    /// Work that takes time without sleeping, to make one side slower than the other.
    static func busyWork(_ iterations: Int) {
        var value = 0
        for step in 0..<iterations { value = value &* 31 &+ step }
        if value == 42 { print("") }  // keeps the loop from being optimized away
    }
}
