#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SharedMemory
import Synchronization
import Testing

/// Coordination between real processes: mutex, atomics, futex, once-only initialization.
@Suite("Coordination")
struct CoordinationTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }
    static let processes = 4
    static let increments = 5_000

    /// Starts `processes` peers with the same steps and waits for all of them.
    func runPeers(_ steps: [String]) throws {
        let peers = try (0..<Self.processes).map { _ in try ChildProcess("SharedMemoryTestPeer", steps) }
        for peer in peers { try peer.expectSuccess() }
    }

    @Test("N processes x M increments under a ProcessMutex: exactly N*M", arguments: named)
    func mutexCounter(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "mutex")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        _ = try ProcessMutex.initialize(in: region, at: 64)
        try runPeers(["open", "\(address)", "mutex-increment", "64", "512", "\(Self.increments)"])
        #expect(try region.load(UInt64.self, at: 512) == UInt64(Self.processes * Self.increments))
    }

    @Test("N processes x M increments of a SharedAtomic: exactly N*M", arguments: named)
    func atomicCounter(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "atomic")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        try runPeers(["open", "\(address)", "atomic-increment", "128", "\(Self.increments)"])
        let counter = try SharedAtomic<Int>(in: region, at: 128)
        #expect(counter.withAtomic { $0.load(ordering: .acquiring) } == Self.processes * Self.increments)
    }

    @Test("a mutex whose owner was killed: owner-died, repair, consistent, count still exact", arguments: named)
    func ownerDiedThenRepaired(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "robust")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)
        try runPeers(["open", "\(address)", "mutex-increment", "0", "512", "100"])

        let holder = try ChildProcess.peer("open", "\(address)", "mutex-hold", "0")
        #expect(try holder.readLine() == "locked")
        try holder.kill()

        #expect(try mutex.lock() == .acquiredPreviousOwnerDied)
        try region.store(UInt64(Self.processes * 100), at: 512)  // the repair: restore the invariant
        try mutex.markConsistent()
        try mutex.unlock()
        try runPeers(["open", "\(address)", "mutex-increment", "0", "512", "100"])
        #expect(try region.load(UInt64.self, at: 512) == UInt64(2 * Self.processes * 100))
        #expect(try mutex.lock() == .acquired)
        try mutex.unlock()
    }

    @Test("a mutex not marked consistent after its owner died becomes unusable", arguments: named)
    func ownerDiedNotRepaired(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "robust")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)
        let holder = try ChildProcess.peer("open", "\(address)", "mutex-hold", "0")
        #expect(try holder.readLine() == "locked")
        try holder.kill()

        let error = #expect(throws: SharedMemoryError.self) { try mutex.withLock { } }
        #expect(error?.code == .notRecoverable)
        let again = #expect(throws: SharedMemoryError.self) { try mutex.lock() }
        #expect(again?.code == .notRecoverable)
        #expect(again?.hint.contains("initialize a new mutex") == true)
        // The peer sees it too.
        let peer = try ChildProcess.peer("open", "\(address)", "mutex-increment", "0", "512", "1").finish()
        #expect(peer.status == 2)
        #expect(peer.errors.contains("ENOTRECOVERABLE"))
    }

    @Test("mutex: trylock, timed lock, relock by the owner", arguments: SharedRegionBackend.available)
    func mutexVariants(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "mutex")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)
        #expect(try mutex.tryLock() == .acquired)
        let relock = #expect(throws: SharedMemoryError.self) { try mutex.lock() }
        #expect(relock?.code == .deadlock)
        try mutex.unlock()
        #expect(try mutex.lock(timeout: .milliseconds(10)) == .acquired)
        try mutex.unlock()
        #expect(try mutex.withLock { 42 } == 42)
    }

    @Test("a mutex held by a peer: trylock says busy, timed lock times out", arguments: named)
    func mutexHeldElsewhere(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "mutex")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)
        let holder = try ChildProcess.peer("open", "\(address)", "mutex-hold", "0")
        defer { try? holder.kill() }
        #expect(try holder.readLine() == "locked")
        #expect(try mutex.tryLock() == nil)
        #expect(try mutex.lock(timeout: .milliseconds(1)) == nil)
    }

    @Test("a peer killed while it repairs after an owner died: the next locker is told again", arguments: named)
    func ownerDiedTwice(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "robust")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)
        let holder = try ChildProcess.peer("open", "\(address)", "mutex-hold", "0")
        #expect(try holder.readLine() == "locked")
        try holder.kill()
        let repairer = try ChildProcess.peer("open", "\(address)", "mutex-take-over", "0")
        #expect(try repairer.readLine() == "recovering")
        try repairer.kill()

        #expect(try mutex.lock() == .acquiredPreviousOwnerDied)
        try mutex.markConsistent()
        try mutex.unlock()
        #expect(try mutex.tryLock() == .acquired)
        try mutex.unlock()
    }

    @Test("a thread that ends holding the mutex (its process lives on) counts as dead to the next locker")
    func ownerThreadEnded() throws {
        final class Holder: Sendable {
            let mutex: ProcessMutex
            init(_ mutex: ProcessMutex) { self.mutex = mutex }
        }
        let address = try TestNames.address(.posix, "robust")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Holder(mutex)).toOpaque()
        #expect(pthread_create(&thread, nil, { context in
            let holder = Unmanaged<Holder>.fromOpaque(context!).takeRetainedValue()
            return (try? holder.mutex.lock()) == .acquired ? UnsafeMutableRawPointer(bitPattern: 1) : nil
        }, context) == 0)
        var locked: UnsafeMutableRawPointer?
        #expect(pthread_join(thread, &locked) == 0)
        #expect(locked != nil)
        #expect(try mutex.tryLock() == .acquiredPreviousOwnerDied)
        try mutex.markConsistent()
        try mutex.unlock()
        #expect(try mutex.lock() == .acquired)
        try mutex.unlock()
    }

    @Test("a holder killed between taking the word and recording itself: busy while it lives, found dead once killed", arguments: named)
    func ownerKilledBeforeRecording(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "robust")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)
        // The peer takes the word as lock() does and stops right there, before the record.
        let holder = try ChildProcess.peer("open", "\(address)", "mutex-take-unrecorded", "0")
        #expect(try holder.readLine() == "taken")
        #expect(try mutex.tryLock() == nil)
        #expect(try mutex.lock(timeout: .milliseconds(1)) == nil)
        try holder.kill()

        #expect(try mutex.lock() == .acquiredPreviousOwnerDied)
        try mutex.markConsistent()
        try mutex.unlock()
        #expect(try mutex.tryLock() == .acquired)
        try mutex.unlock()
    }

    @Test("a word naming this thread without a record is an earlier thread's of the same id: dead; a record naming another thread is .corrupted")
    func wordNamesThisThreadUnrecorded() throws {
        let address = try TestNames.address(.posix, "robust")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let mutex = try ProcessMutex.initialize(in: region, at: 0)
        let stat = try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)
        let me = try #require(UInt32(stat.prefix { $0 != " " }))
        // What the compare-and-swap of a thread with this id, killed before its record, leaves.
        try region.store(UInt64(1) << 32 | UInt64(me), at: 8)
        #expect((#expect(throws: SharedMemoryError.self) { try mutex.unlock() })?.code == .permissionDenied)
        #expect(try mutex.tryLock() == .acquiredPreviousOwnerDied)
        try mutex.markConsistent()
        try mutex.unlock()
        // The record of generation 3 names thread 1, the word another.
        try region.store(UInt64(3) << 32 | UInt64(me), at: 8)
        try region.store(UInt32(3), at: 16)
        try region.store(UInt64(1) << 32 | 1, at: 24)
        let error = #expect(throws: SharedMemoryError.self) { try mutex.tryLock() }
        #expect(error?.code == .corrupted)
        #expect(error?.message.contains("ownerTID") == true)
    }

    @Test("a mutex nobody initialized (zeros, other bytes, another version) is .layoutMismatch, here and in a peer")
    func mutexUninitialized() throws {
        let address = try TestNames.address(.posix, "mutex")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        try region.write([UInt8](repeating: 0xA5, count: 64), at: 64)
        _ = try ProcessMutex.initialize(in: region, at: 128)
        try region.store(UInt32(1), at: 132)  // version 1: its word had a locked bit where the holder now is
        for offset in [0, 64, 128] {
            let error = #expect(throws: SharedMemoryError.self) { try ProcessMutex(in: region, at: offset) }
            #expect(error?.code == .layoutMismatch)
            #expect(error?.hint.contains("ProcessMutex.initialize") == true)
        }
        let peer = try ChildProcess.peer(
            "open", "\(address)", "fails", "layoutMismatch", "mutex-hold", "0").finish()
        #expect(peer.status == 0, "\(peer.errors)")
        // A mutex overwritten while in use is refused at the next call too.
        let mutex = try ProcessMutex.initialize(in: region, at: 192)
        try region.store(UInt64(0), at: 192)
        #expect((#expect(throws: SharedMemoryError.self) { try mutex.lock() })?.code == .layoutMismatch)
    }

    @Test("a peer writes 4,000 fuzzed mutexes; another uses each: no crash, no endless wait, every failure typed")
    func mutexFuzzedCorpus() throws {
        let address = try TestNames.address(.posix, "mutexfuzz")
        defer { cleanUp(address) }
        let count = 4_000
        _ = try SharedRegions.open(address, size: count * ProcessMutex.byteCount, mode: .create)
        try ChildProcess.peer("open", "\(address)", "mutex-corpus", "0", "\(count)", "\(0x10C4)").expectSuccess()
        let user = try ChildProcess.peer("open", "\(address)", "mutex-fuzz-use", "0", "\(count)", "1")
        let outcomes = try Self.outcomes(user.readLine())
        try user.expectSuccess()
        // 4 calls on each attached mutex; every kind of answer occurs, so the corpus reaches each path.
        #expect(outcomes.values.reduce(0, +) >= count)
        for kind in ["acquired", "ownerDied", "busy", "layoutMismatch", "corrupted", "notRecoverable", "permissionDenied"] {
            #expect(outcomes[kind, default: 0] > 0, "no \(kind) in \(outcomes)")
        }
    }

    @Test("a peer scribbles over a mutex while two processes use it: no crash, no endless wait, every failure typed")
    func mutexScribbledWhileUsed() throws {
        let address = try TestNames.address(.posix, "mutexfuzz")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        _ = try ProcessMutex.initialize(in: region, at: 0)
        let scribbler = try ChildProcess.peer("open", "\(address)", "mutex-scribble", "0", "128", "\(0x5C1B)")
        let users = try (0..<2).map { _ in try ChildProcess.peer("open", "\(address)", "mutex-fuzz-use", "0", "1", "1500") }
        for user in users {
            _ = try Self.outcomes(user.readLine())
            try user.expectSuccess()
        }
        try SharedAtomic<Int>(in: region, at: 128).withAtomic { $0.store(1, ordering: .releasing) }
        #expect(try scribbler.readLine()?.hasPrefix("scribbled ") == true)
        try scribbler.expectSuccess()
    }

    /// Parses a peer's "outcomes NAME=N ..." line.
    static func outcomes(_ line: String?) throws -> [String: Int] {
        let line = try #require(line)
        #expect(line.hasPrefix("outcomes "))
        return Dictionary(
            line.split(separator: " ").dropFirst().compactMap { pair in
                let parts = pair.split(separator: "=")
                return parts.count == 2 ? (String(parts[0]), Int(parts[1]) ?? 0) : nil
            }, uniquingKeysWith: +)
    }

    @Test("futex: a peer sleeps on a word until the test changes it and wakes it", arguments: named)
    func futexAcrossProcesses(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "futex")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        let word = try FutexWord(in: region, at: 256)
        word.store(7)
        let sleeper = try ChildProcess.peer("open", "\(address)", "futex-wait", "256", "7")
        #expect(try sleeper.readLine() == "waiting")
        word.store(8)
        word.wakeAll()
        #expect(try sleeper.readLine() == "woke 8")
        try sleeper.expectSuccess()
    }

    @Test("futex: a wait on a changed value returns at once; a timed wait times out")
    func futexResults() throws {
        let address = try TestNames.address(.posix, "futex")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 64, mode: .create)
        let word = try FutexWord(in: region, at: 0)
        word.store(1)
        #expect(try word.wait(whileValueIs: 2) == .valueChanged)
        #expect(try word.wait(whileValueIs: 1, timeout: .milliseconds(1)) == .timedOut)
        #expect(try SpinThenWait(spins: 10).wait(on: word, whileValueIs: 1, timeout: .milliseconds(1)) == false)
        #expect(try SpinThenWait().wait(on: word, whileValueIs: 5) == true)
        #expect(word.wake() == 0)
    }

    @Test("once-only initialization: racing processes, the initializer runs exactly once", arguments: named)
    func onceRace(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "once")
        let counterAddress = try TestNames.address(.posix, "runs")
        defer { cleanUp(address); cleanUp(counterAddress) }
        let counter = try SharedRegions.open(counterAddress, size: 64, mode: .create)
        let peers = try (0..<6).map { _ in
            try ChildProcess.peer("open", "\(counterAddress)", "once", "\(address)", "orders", "3", "10000")
        }
        let answers = try peers.map { try $0.readLine() }
        for peer in peers { try peer.expectSuccess() }
        #expect(answers.filter { $0 == "initialized" }.count == 1)
        #expect(answers.filter { $0 == "opened" }.count == 5)
        #expect(try SharedAtomic<Int>(in: counter, at: 0).withAtomic { $0.load(ordering: .acquiring) } == 1)
    }

    @Test("once-only initialization: a peer killed inside the initializer is taken over", arguments: named)
    func onceTakeover(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "once")
        let counterAddress = try TestNames.address(.posix, "runs")
        defer { cleanUp(address); cleanUp(counterAddress) }
        let counter = try SharedRegions.open(counterAddress, size: 64, mode: .create)
        let stalled = try ChildProcess.peer("open", "\(counterAddress)", "once-stall", "\(address)", "orders", "1", "512")
        #expect(try stalled.readLine() == "initializing")
        try stalled.kill()

        let layout = try RegionLayout(name: "orders", version: 1, payloadByteCount: 512)
        let initialized = try SharedRegions.openInitialized(address, layout: layout) { fresh in
            try fresh.region.storeArray([UInt8](repeating: 0xA5, count: 512), at: fresh.payloadOffset)
        }
        #expect(initialized.initializedHere)
        #expect(try SharedAtomic<Int>(in: counter, at: 0).withAtomic { $0.load(ordering: .acquiring) } == 1)
        let opener = try ChildProcess.peer("open", "\(counterAddress)", "once", "\(address)", "orders", "1", "512")
        #expect(try opener.readLine() == "opened")
        try opener.expectSuccess()
    }

    /// The header's state word as RegionLayout documents it: phase (bits 0–1), pid (2–31),
    /// low 32 bits of that process's start time (32–63), as little-endian hex for the peer.
    static func onceState(phase: UInt64, pid: Int32, startTimeLowBits: UInt32) -> String {
        let word = UInt64(startTimeLowBits) << 32 | UInt64(UInt32(bitPattern: pid)) << 2 | phase
        return hex(withUnsafeBytes(of: word.littleEndian) { Array($0) })
    }

    /// Field 22 of `/proc/PID/stat`, the start time in clock ticks, or nil where it is hidden.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: end)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// A peer writes "initializing by pid P" into a header, where P runs but started at another
    /// time than the header says (pid 1, or this test's own pid): an opener takes over at once
    /// as from a dead initializer, instead of waiting out its timeout. With P's real start
    /// time, it waits (a live initializer), up to its timeout.
    @Test("once-only initialization: a header naming a live pid with another start time is taken over")
    func onceLiveImpostor() throws {
        let pid: Int32 = Self.startTime(of: 1) != nil ? 1 : getpid()
        let real = UInt32(truncatingIfNeeded: try #require(Self.startTime(of: pid)))
        let layout = try RegionLayout(name: "orders", version: 1, payloadByteCount: 256)
        for (startTimeLowBits, takenOver) in [(real &+ 1, true), (real, false)] {
            let address = try TestNames.address(.posix, "once")
            defer { cleanUp(address) }
            let state = Self.onceState(phase: 1, pid: pid, startTimeLowBits: startTimeLowBits)
            let size = "\(layout.totalByteCount)"
            try ChildProcess.peer("create", "\(address)", size, "write", "8", state).expectSuccess()
            var ran = false
            do {
                let initialized = try SharedRegions.openInitialized(
                    address, layout: layout, timeout: .milliseconds(20)
                ) { fresh in
                    ran = true
                    try fresh.region.storeArray([UInt8](repeating: 0xA5, count: 256), at: fresh.payloadOffset)
                }
                #expect(takenOver && initialized.initializedHere && ran)
                let opener = try ChildProcess.peer("open", "\(address)", "expect", "64", "a5a5a5a5")
                try opener.expectSuccess()
            } catch let error as SharedMemoryError {
                #expect(!takenOver && error.code == .timedOut, "\(error)")
                #expect(error.message.contains("process \(pid) is still initializing"))
            }
        }
    }

    @Test("once-only initialization: a state word the library never writes is .layoutMismatch")
    func onceGarbageState() throws {
        let layout = try RegionLayout(name: "orders", version: 1, payloadByteCount: 64)
        let states = [
            Self.onceState(phase: 3, pid: 0, startTimeLowBits: 0), Self.onceState(phase: 0, pid: 7, startTimeLowBits: 9),
        ]
        for state in states {
            let address = try TestNames.address(.posix, "once")
            defer { cleanUp(address) }
            let size = "\(layout.totalByteCount)"
            try ChildProcess.peer("create", "\(address)", size, "write", "8", state).expectSuccess()
            let error = #expect(throws: SharedMemoryError.self) {
                try SharedRegions.openInitialized(address, layout: layout) { _ in }
            }
            #expect(error?.code == .layoutMismatch)
        }
    }

    @Test("once-only initialization: another layout or version is refused")
    func onceMismatch() throws {
        let address = try TestNames.address(.posix, "once")
        defer { cleanUp(address) }
        let layout = try RegionLayout(name: "orders", version: 1, payloadByteCount: 128)
        _ = try SharedRegions.openInitialized(address, layout: layout) { _ in }
        let reopened = try SharedRegions.openInitialized(address, layout: layout) { _ in Issue.record("ran twice") }
        #expect(!reopened.initializedHere)
        for other in [
            try RegionLayout(name: "orders", version: 2, payloadByteCount: 128),
            try RegionLayout(name: "trades", version: 1, payloadByteCount: 128),
            try RegionLayout(name: "orders", version: 1, payloadByteCount: 64),
        ] {
            let error = #expect(throws: SharedMemoryError.self) { try SharedRegions.openInitialized(address, layout: other) { _ in } }
            #expect(error?.code == .layoutMismatch)
        }
    }

    @Test("once-only initialization: a failing initializer leaves the region for the next try")
    func onceInitializerThrows() throws {
        struct Refused: Error {}
        let address = try TestNames.address(.posix, "once")
        defer { cleanUp(address) }
        let layout = try RegionLayout(name: "orders", version: 1, payloadByteCount: 8)
        #expect(throws: Refused.self) { try SharedRegions.openInitialized(address, layout: layout) { _ in throw Refused() } }
        let second = try SharedRegions.openInitialized(address, layout: layout) { _ in }
        #expect(second.initializedHere)
    }

    @Test("once-only initialization: a negative payload size or one that overflows with the header is .invalidSize")
    func layoutSizes() throws {
        for size in [-1, Int.min, Int.max, Int.max - RegionLayout.headerByteCount + 1] {
            let error = #expect(throws: SharedMemoryError.self) { try RegionLayout(name: "orders", version: 1, payloadByteCount: size) }
            #expect(error?.code == .invalidSize, "\(size)")
            #expect(error?.hint.isEmpty == false)
        }
        // The largest payload that fits makes a layout; creating it is refused, typed, and leaves nothing.
        let largest = try RegionLayout(identifier: 1, version: 1, payloadByteCount: Int.max - RegionLayout.headerByteCount)
        #expect(largest.totalByteCount == Int.max)
        let address = try TestNames.address(.posix, "once")
        defer { cleanUp(address) }
        #expect(throws: SharedMemoryError.self) { try SharedRegions.openInitialized(address, layout: largest) { _ in } }
        let lookup = #expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) }
        #expect(lookup?.code == .notFound)
        #expect(try RegionLayout(name: "empty", version: 1, payloadByteCount: 0).totalByteCount == RegionLayout.headerByteCount)
    }

    @Test("typed views refuse types with bytes that are no value, and offsets from the region never trap")
    func untrustedValues() throws {
        enum Side: UInt8, AtomicRepresentable { case buy, sell }
        struct Flagged { var value: Int64; var valid: Bool }
        let address = try TestNames.address(.posix, "views")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 256, mode: .create)
        try region.store(UInt8(7), at: 0)  // no Bool, no Side
        for load in [
            { try region.load(Bool.self, at: 0) } as () throws -> Any, { try region.load(Side.self, at: 0) },
            { try region.load(Flagged.self, at: 0) }, { try region.loadArray(of: Bool.self, at: 0, count: 2) },
        ] {
            let error = #expect(throws: SharedMemoryError.self) { _ = try load() }
            #expect(error?.code == .invalidArgument)
        }
        #expect(try region.load(RegionOffset<UInt64>.self, at: 0).byteOffset == 7)
        for refused in [
            { try SharedAtomic<Side>(in: region, at: 0) } as () throws -> Any, { try SharedAtomic<UnsafeRawPointer>(in: region, at: 8) },
            { try SharedAtomic<UnsafeRawPointer?>(in: region, at: 8) },
        ] {
            let error = #expect(throws: SharedMemoryError.self) { _ = try refused() }
            #expect(error?.code == .invalidArgument)
        }
        _ = try SharedAtomic<Bool>(in: region, at: 0)
        _ = try SharedAtomic<Double>(in: region, at: 8)
        _ = try SharedAtomic<WordPair>(in: region, at: 16)

        // Offsets as another process may have stored them: extremes advance without trapping and
        // are refused where used.
        for stored in [Int64.max, Int64.min, Int64.max - 7, Int64.min + 3] {
            try region.store(stored, at: 64)
            let offset = try region.load(RegionOffset<UInt64>.self, at: 64)
            for step in [1, -1, Int.max, Int.min] {
                let error = #expect(throws: SharedMemoryError.self) { try offset.advanced(by: step).load(from: region) }
                #expect(error?.code == .outOfBounds, "\(stored) advanced by \(step)")
            }
            #expect(throws: SharedMemoryError.self) { try offset.pointer(in: region) }
        }
    }

    @Test("typed views and offsets: values, arrays, relative pointers", arguments: SharedRegionBackend.available)
    func typedViews(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "views")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 256, mode: .create)
        try region.store(UInt32(0xDEAD_BEEF), at: 1)  // unaligned on purpose
        #expect(try region.load(UInt32.self, at: 1) == 0xDEAD_BEEF)
        try region.storeArray([1.5, 2.5, 3.5], at: 16)
        #expect(try region.loadArray(of: Double.self, at: 16, count: 3) == [1.5, 2.5, 3.5])
        let next = RegionOffset<Int64>(byteOffset: 64)
        try region.store(next, at: 40)  // an offset stored inside the region itself
        let stored = try region.load(RegionOffset<Int64>.self, at: 40)
        try stored.store(-9, in: region)
        #expect(try next.load(from: region) == -9)
        #expect(stored.advanced(by: 1).byteOffset == 72)
        #expect(try next.pointer(in: region).pointee == -9)
    }

    @Test("bad input: misaligned atomics, views past the end, read-only atomics")
    func badInput() throws {
        let address = try TestNames.address(.posix, "views")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 100, mode: .create)
        let misaligned = #expect(throws: SharedMemoryError.self) { try SharedAtomic<UInt64>(in: region, at: 4) }
        #expect(misaligned?.code == .misaligned)
        #expect(throws: SharedMemoryError.self) { try FutexWord(in: region, at: 2) }
        #expect(throws: SharedMemoryError.self) { try ProcessMutex(in: region, at: 1) }
        #expect(throws: SharedMemoryError.self) { try ProcessMutex(in: region, at: 96) }
        for offset in [-8, 96, 100, Int.max] {
            let past = #expect(throws: SharedMemoryError.self) { try region.load(UInt64.self, at: offset) }
            #expect(past?.code == .outOfBounds)
        }
        #expect(throws: SharedMemoryError.self) { try region.loadArray(of: UInt64.self, at: 0, count: 13) }
        #expect(throws: SharedMemoryError.self) { try region.loadArray(of: UInt64.self, at: 0, count: Int.max) }
        #expect(throws: SharedMemoryError.self) { try RegionOffset<UInt64>(byteOffset: 99).load(from: region) }
        let reader = try SharedRegions.open(address, mode: .open, access: .readOnly)
        let readOnly = #expect(throws: SharedMemoryError.self) { try SharedAtomic<Int>(in: reader, at: 0) }
        #expect(readOnly?.code == .readOnly)
        #expect(throws: SharedMemoryError.self) { try reader.store(UInt8(1), at: 0) }
    }
}
