import SharedMemory

extension Peer {
    /// Steps on the coordination primitives, on the current region:
    ///
    ///   mutex-increment MUTEX COUNTER TIMES   add 1 to the UInt64 at COUNTER under the ProcessMutex at MUTEX
    ///   mutex-hold MUTEX                      lock, say "locked", then wait (to be killed)
    ///   atomic-increment OFFSET TIMES         add 1 to the SharedAtomic<Int> at OFFSET
    ///   futex-wait OFFSET VALUE               say "waiting", sleep while the word is VALUE, say "woke N"
    ///   once ADDRESS NAME VERSION BYTES       open-or-create an initialized region; its initializer
    ///                                         adds 1 to the atomic at offset 0 of the current region
    ///                                         and fills the payload with 0xA5; say "initialized" or
    ///                                         "opened"; exit 1 unless the payload is all 0xA5
    ///   once-stall ADDRESS NAME VERSION BYTES as `once`, but the initializer says "initializing" and
    ///                                         waits (to be killed)
    static let coordinationSteps: [String: Step] = [
        "mutex-increment": { peer in
            let mutex = try ProcessMutex(in: peer.current(), at: peer.nextNumber("mutex offset"))
            let counter = try peer.nextNumber("counter offset")
            let region = try peer.current()
            for _ in 0..<(try peer.nextNumber("times")) {
                try mutex.withLock { try region.store(try region.load(UInt64.self, at: counter) + 1, at: counter) }
            }
        },
        "mutex-hold": { peer in
            let mutex = try ProcessMutex(in: peer.current(), at: peer.nextNumber("mutex offset"))
            try mutex.lock()
            say("locked")
            _ = readLine()
        },
        "atomic-increment": { peer in
            let counter = try SharedAtomic<Int>(in: peer.current(), at: peer.nextNumber("offset"))
            for _ in 0..<(try peer.nextNumber("times")) {
                counter.withAtomic { _ = $0.wrappingAdd(1, ordering: .relaxed) }
            }
        },
        "futex-wait": { peer in
            let word = try FutexWord(in: peer.current(), at: peer.nextNumber("offset"))
            let value = UInt32(try peer.nextNumber("value"))
            say("waiting")
            while word.load() == value {
                _ = try word.wait(whileValueIs: value)
            }
            say("woke \(word.load())")
        },
        "once": { peer in try once(&peer, stall: false) },
        "once-stall": { peer in try once(&peer, stall: true) },
    ]

    private static func once(_ peer: inout Peer, stall: Bool) throws {
        let address = try RegionAddress(parsing: peer.next("address"))
        let layout = try RegionLayout(
            name: try peer.next("layout name"), version: UInt32(try peer.nextNumber("version")),
            payloadByteCount: try peer.nextNumber("payload bytes"))
        let runs = try SharedAtomic<Int>(in: peer.current(), at: 0)
        let initialized = try SharedMemory.openOrCreate(address, layout: layout) { fresh in
            runs.withAtomic { _ = $0.wrappingAdd(1, ordering: .relaxed) }
            if stall {
                say("initializing")
                _ = readLine()
            }
            try fresh.region.storeArray(
                [UInt8](repeating: 0xA5, count: layout.payloadByteCount), at: fresh.payloadOffset)
        }
        say(initialized.initializedHere ? "initialized" : "opened")
        let payload = try initialized.region.read(at: initialized.payloadOffset, count: layout.payloadByteCount)
        guard payload.allSatisfy({ $0 == 0xA5 }) else { fail(1, "the payload is not fully initialized") }
    }
}
