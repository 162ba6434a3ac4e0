#if canImport(Glibc)
import Glibc
#endif
import SeededRandom
import SharedMemory
import Synchronization

extension Peer {
    /// Steps on the coordination primitives, on the current region:
    ///
    ///   mutex-increment MUTEX COUNTER TIMES   add 1 to the UInt64 at COUNTER under the ProcessMutex at MUTEX
    ///   mutex-hold MUTEX                      lock, say "locked", then wait (to be killed)
    ///   mutex-take-unrecorded MUTEX           take the free word with one compare-and-swap, as lock() does,
    ///                                         but write no owner record; say "taken", then wait (to be killed)
    ///   atomic-increment OFFSET TIMES         add 1 to the SharedAtomic<Int> at OFFSET
    ///   futex-wait OFFSET VALUE               say "waiting", sleep while the word is VALUE, say "woke N"
    ///   once ADDRESS NAME VERSION BYTES       open-or-create an initialized region; its initializer
    ///                                         adds 1 to the atomic at offset 0 of the current region
    ///                                         and fills the payload with 0xA5; say "initialized" or
    ///                                         "opened"; exit 1 unless the payload is all 0xA5
    ///   once-stall ADDRESS NAME VERSION BYTES as `once`, but the initializer says "initializing" and
    ///                                         waits (to be killed)
    ///   mutex-init MUTEX                      initialize a ProcessMutex at MUTEX
    ///   mutex-take-over MUTEX                 lock; exit 1 unless the previous owner died; say
    ///                                         "recovering", then wait (to be killed) unrepaired
    ///   mutex-corpus OFFSET COUNT SEED        write COUNT fuzzed mutexes (64 bytes each) from OFFSET on
    ///   mutex-scribble MUTEX STOP SEED        write fuzzed mutexes, or a valid header and a fuzzed state word,
    ///                                         over the one at MUTEX until the Int at STOP is not 0; say
    ///                                         "scribbled N"
    ///   mutex-fuzz-use OFFSET COUNT ROUNDS    on each of COUNT mutexes from OFFSET on (64 bytes apart),
    ///                                         ROUNDS rounds of attach, tryLock, lock(timeout:), repair,
    ///                                         unlock, markConsistent; say "outcomes NAME=N ...";
    ///                                         exit 1 on an error code no fuzzed state should cause
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
        "mutex-take-unrecorded": { peer in
            // As a holder killed right after the compare-and-swap that takes the word: the word
            // names this thread (the main thread, whose thread id is the pid), no record follows.
            let offset = try peer.nextNumber("mutex offset")
            _ = try ProcessMutex(in: peer.current(), at: offset)  // a mutex is there
            let state = try SharedAtomic<UInt64>(in: peer.current(), at: offset + 8)
            let taken = state.withAtomic { state in
                let free = state.load(ordering: .acquiring)
                let named = (free >> 32 &+ 1) << 32 | UInt64(UInt32(getpid()))
                return UInt32(truncatingIfNeeded: free) == 0
                    && state.compareExchange(expected: free, desired: named, ordering: .acquiringAndReleasing).exchanged
            }
            guard taken else { fail(1, "the mutex is not free") }
            say("taken")
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
        "mutex-init": { peer in
            _ = try ProcessMutex.initialize(in: peer.current(), at: peer.nextNumber("mutex offset"))
        },
        "mutex-take-over": { peer in
            let mutex = try ProcessMutex(in: peer.current(), at: peer.nextNumber("mutex offset"))
            guard try mutex.lock() == .acquiredPreviousOwnerDied else { fail(1, "the previous owner did not die") }
            say("recovering")
            _ = readLine()
        },
        "mutex-corpus": { peer in
            let region = try peer.current()
            let offset = try peer.nextNumber("offset")
            let count = try peer.nextNumber("count")
            var fuzz = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            for slot in 0..<count {
                try region.write(fuzz.image(), at: offset + slot * ProcessMutex.byteCount)
            }
        },
        "mutex-scribble": { peer in
            let region = try peer.current()
            let offset = try peer.nextNumber("mutex offset")
            let stop = try SharedAtomic<Int>(in: region, at: peer.nextNumber("stop offset"))
            var fuzz = MutexFuzz(seed: UInt64(try peer.nextNumber("seed")))
            var cases = 0
            repeat {
                var image = fuzz.image()
                // Mostly a valid header and a fuzzed state word only, so that the users get past
                // attaching and their own states mix with fuzzed ones.
                if fuzz.next() % 4 == 0 {
                    try region.write(image, at: offset)
                } else {
                    withUnsafeBytes(of: MutexFuzz.header.littleEndian) { image.replaceSubrange(0..<8, with: $0) }
                    try region.write(Array(image[0..<16]), at: offset)
                }
                cases += 1
            } while stop.withAtomic { $0.load(ordering: .acquiring) } == 0
            say("scribbled \(cases)")
        },
        "mutex-fuzz-use": { peer in
            let region = try peer.current()
            let offset = try peer.nextNumber("offset")
            let count = try peer.nextNumber("count")
            let rounds = try peer.nextNumber("rounds")
            var outcomes = MutexOutcomes()
            for slot in 0..<count {
                for round in 0..<rounds {
                    outcomes.exercise(region, at: offset + slot * ProcessMutex.byteCount, repairing: (slot + round) % 2 == 0)
                }
            }
            say("outcomes " + outcomes.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            if let unexpected = outcomes.unexpected { fail(1, "an error no fuzzed state should cause: \(unexpected)") }
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
        let initialized = try SharedRegions.openInitialized(address, layout: layout) { fresh in
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

/// Fuzzed images of a `ProcessMutex`'s 64 bytes (the layout in Docs/Interop.md), the same for
/// a seed: hand-picked values for each field, random bytes, and valid mutexes.
struct MutexFuzz {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }

    static let header: UInt64 = 0x0000_0002_4B4C_4D53
    static let pidNamespace: UInt64 = {
        var info = stat()
        return stat("/proc/self/ns/pid", &info) == 0 ? UInt64(info.st_ino) : 0
    }()

    mutating func image() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        switch next() % 10 {
        case 0:  // random bytes
            for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: next()) }
        case 1:  // a valid free mutex
            put(Self.header, at: 0)
        default:  // hand-picked fields, sometimes with a few bytes flipped
            let generation = pick([0, 1, UInt32.max, UInt32(truncatingIfNeeded: next())])
            put(pick([Self.header, Self.header, Self.header, 0, 0x0000_0001_4B4C_4D53, next()]), at: 0)
            // Holders (dead, alive, anonymous, impossible) with the owner-died and waiters bits.
            let holder = pick([0, 1, UInt32(getpid()), UInt32(getppid()), 4_194_304, 4_194_305, 0x3FFF_FFFF, 0x3FFF_FFFE])
            let word = pick([
                0, 0x4000_0000, 0x8000_0000, 0xC000_0000, holder, holder | 0x4000_0000, holder | 0x8000_0000,
                holder | 0xC000_0000, UInt32.max, UInt32(truncatingIfNeeded: next()),
            ])
            put(UInt64(generation) << 32 | UInt64(word), at: 8)
            put(next() % 4 == 0 ? generation &+ 1 : generation, at: 16)
            // The writer (dead by the time its image is used), the test (alive), and impossible ids.
            let ids: [Int32] = [0, -1, 1, 4_194_304, 4_194_305, .max, .min, getpid(), getppid(),
                Int32(truncatingIfNeeded: next())]
            let pid = pick(ids)
            put(pid, at: 24)
            put(next() % 2 == 0 ? pid : pick(ids), at: 28)
            put(pick([0, 1, next()]), at: 32)
            put(pick([Self.pidNamespace, Self.pidNamespace, 0, next()]), at: 40)
            put(pick([Self.pidNamespace, Self.pidNamespace, 0, next()]), at: 48)
            if next() % 4 == 0 {
                for _ in 0..<(1 + next() % 3) { bytes[Int(next() % 64)] = UInt8(truncatingIfNeeded: next()) }
            }
        }
        return bytes
    }
}

/// What a user of fuzzed mutexes saw: every call's result, by name, and the first error that
/// no fuzzed state should cause (any other code than these).
struct MutexOutcomes {
    static let expected: Set<SharedMemoryError.Code> = [
        .layoutMismatch, .corrupted, .notRecoverable, .deadlock, .permissionDenied, .invalidArgument,
    ]
    var counts: [String: Int] = [:]
    var unexpected: SharedMemoryError?

    mutating func exercise(_ region: any SharedRegion, at offset: Int, repairing: Bool) {
        let mutex: ProcessMutex
        do {
            mutex = try ProcessMutex(in: region, at: offset)
        } catch {
            return note(error)
        }
        note { () throws(SharedMemoryError) in try Self.use(mutex, mutex.tryLock(), repairing: repairing) }
        note { () throws(SharedMemoryError) in try Self.use(mutex, mutex.lock(timeout: .microseconds(200)), repairing: repairing) }
        note { () throws(SharedMemoryError) in try mutex.markConsistent(); return "consistent" }
        note { () throws(SharedMemoryError) in try mutex.unlock(); return "unlocked" }
    }

    private static func use(_ mutex: ProcessMutex, _ acquisition: ProcessMutex.Acquisition?, repairing: Bool)
        throws(SharedMemoryError) -> String
    {
        guard let acquisition else { return "busy" }
        if acquisition == .acquiredPreviousOwnerDied && repairing { try mutex.markConsistent() }
        try mutex.unlock()
        return acquisition == .acquired ? "acquired" : "ownerDied"
    }

    private mutating func note(_ call: () throws(SharedMemoryError) -> String) {
        do {
            counts[try call(), default: 0] += 1
        } catch {
            note(error)
        }
    }

    private mutating func note(_ error: SharedMemoryError) {
        counts[error.code.rawValue, default: 0] += 1
        if unexpected == nil && (!Self.expected.contains(error.code) || error.hint.isEmpty) { unexpected = error }
    }
}
