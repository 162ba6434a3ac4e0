import SharedMemory

extension Peer {
    /// Steps on an SPSCRing at offset 0 of the current region:
    ///
    ///   ring-produce COUNT MAXSIZE DELAY   send COUNT test messages (see `RingMessage`),
    ///                                      busy-working DELAY iterations between them
    ///   ring-consume COUNT MAXSIZE DELAY   receive and check COUNT of them, then say "received COUNT"
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
    ]
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
