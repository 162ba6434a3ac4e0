#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage
import Testing

/// System V semaphore sets, in this process and across real ones.
@Suite("System V semaphore sets", .enabled(if: SharedRegionBackend.systemV.isAvailable))
struct SemaphoreTests {
    static func newAddress() throws -> RegionAddress { try TestNames.address(.systemV, "sem") }

    @Test("create, then open by key and by id; the count is learned or checked")
    func createAndOpen() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, count: 3, mode: .create, initialValues: [1, 2, 3])
        #expect(set.created && set.count == 3 && set.address == address)
        let byKey = try SystemVSemaphoreSet(address, mode: .open)
        #expect(!byKey.created && byKey.count == 3 && byKey.id == set.id)
        let byID = try SystemVSemaphoreSet(.id(set.id), count: 3, mode: .open)
        #expect(try byID.values() == [1, 2, 3])
        let mismatch = #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet(address, count: 2, mode: .open) }
        #expect(mismatch?.code == .invalidSize)
        #expect(mismatch?.message.contains("holds 3 semaphores") == true)
        let again = #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet(address, count: 3, mode: .create) }
        #expect(again?.code == .alreadyExists)
        #expect(again?.hint.contains("shm sem remove \(address)") == true)
    }

    @Test("openOrCreate: one creator; an existing set keeps its values")
    func openOrCreate() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let first = try SystemVSemaphoreSet(address, initialValues: [5, 6])
        let second = try SystemVSemaphoreSet(address, initialValues: [0, 0])
        #expect(first.created && !second.created)
        #expect(try second.values() == [5, 6])
    }

    /// Exactly one creator, and no opener sees the zeros of a fresh set. The gap between
    /// `semget` and the stamp is microseconds, so this rarely lands inside it: the opener's
    /// wait itself is proven by `unstampedSet`.
    @Test("peers racing to open-or-create: one creates, every one sees the initial values")
    func racingOpenOrCreate() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let peers = try (0..<6).map { _ in try ChildProcess.peer("sem-open-or-create", "\(address)", "7,9") }
        let reports = try peers.map { try $0.readLine() }
        for peer in peers { try peer.expectSuccess() }
        #expect(reports.filter { $0 == "created 7,9" }.count == 1)
        #expect(reports.filter { $0 == "opened 7,9" }.count == 5)
    }

    @Test("sysv:private reports sysv:id=N and cannot be opened")
    func privateSet() throws {
        let set = try SystemVSemaphoreSet("sysv:private", count: 1, mode: .create)
        defer { removeSemaphores(set.address) }
        #expect(set.address == .systemV(.id(set.id)))
        #expect(try SystemVSemaphoreSet(set.address, mode: .open).id == set.id)
        let refused = #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet("sysv:private", count: 1) }
        #expect(refused?.code == .invalidArgument)
    }

    /// A set made with a bare `semget`, as a C program would, has `sem_otime` 0 until a
    /// `semop`: it is used at once, as C would use it. Only a set that carries this library's
    /// mark of a set being initialised (mode bit 0001), and that nothing has touched, is
    /// waited for: the trace of a creator using this library that died half-way. C makes both.
    @Test("a set nothing has touched opens at once, unless it carries the library's mark")
    func untouchedSets() throws {
        let plain = try Self.newAddress()
        let marked = try Self.newAddress()
        defer { removeSemaphores(plain); removeSemaphores(marked) }
        try InteropTests.fixture(["sem-create", try InteropTests.cKey(plain), "2", "600"]).expectSuccess()
        try InteropTests.fixture(["sem-create", try InteropTests.cKey(marked), "2", "601"]).expectSuccess()

        let set = try SystemVSemaphoreSet(plain, mode: .open)
        #expect(set.count == 2)
        #expect(try set.values() == [0, 0])
        #expect(try set.status().lastOperationTime == nil)

        let waited = #expect(throws: SharedMemoryError.self) {
            try SystemVSemaphoreSet(marked, mode: .open, initializationWait: .milliseconds(1))
        }
        #expect(waited?.code == .notReady)
        #expect(waited?.hint.contains("initializationWait: .zero") == true)
        #expect(waited?.hint.contains("shm sem remove \(marked)") == true)
        let taken = try SystemVSemaphoreSet(marked, mode: .open, initializationWait: .zero)
        try taken.setValue(1, at: 1)  // touched now: SETVAL records this process in GETPID of semaphore 1
        #expect(try SystemVSemaphoreSet(marked, mode: .open, initializationWait: .milliseconds(1)).values() == [0, 1])
    }

    @Test("a set this library made carries no mark once initialised, and the stamp C waits for")
    func creationClearsTheMark() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(
            address, mode: .create, permissions: [.ownerReadWrite, .groupRead], initialValues: [4])
        let status = try set.status()
        #expect(status.permissions == [.ownerReadWrite, .groupRead])
        #expect(status.lastOperationTime != nil)
        #expect(try set.lastProcessID(at: 0) == getpid())
        #expect(try set.values() == [4])
    }

    @Test("values after SETALL and SETVAL; status and permissions")
    func valuesAndStatus() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, count: 4, mode: .create)
        #expect(try set.values() == [0, 0, 0, 0])
        try set.setValues([7, 0, 32767, 1])
        #expect(try set.values() == [7, 0, 32767, 1])
        try set.setValue(9, at: 1)
        #expect(try set.value(at: 1) == 9)
        let status = try set.status()
        #expect(status.count == 4)
        #expect(status.permissions == .ownerReadWrite)
        #expect(status.ownerUserID == getuid() && status.creatorUserID == getuid())
        #expect(status.ownerGroupID == getgid() && status.creatorGroupID == getgid())
        #expect(status.lastOperationTime != nil)  // the creator's stamp
        try set.setPermissions([.ownerReadWrite, .groupRead])
        #expect(try set.status().permissions == [.ownerReadWrite, .groupRead])
        try set.setOwner(userID: getuid(), groupID: getgid())
    }

    @Test("several operations apply together or not at all")
    func atomicOperations() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, initialValues: [1, 0])
        let both: [SemaphoreOperation] = [.wait(0, flags: .noWait), .wait(1, flags: .noWait)]
        #expect(try set.apply(both) == .wouldBlock)
        #expect(try set.values() == [1, 0])  // the first was not applied alone
        try set.setValue(1, at: 1)
        #expect(try set.apply(both) == .applied)
        #expect(try set.values() == [0, 0])
        #expect(try set.apply([.signal(0, by: 3), .signal(1, by: 2), .wait(0, by: 1)]) == .applied)
        #expect(try set.values() == [2, 2])
    }

    @Test("no-wait on an empty semaphore would block; tryWait says false")
    func noWait() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, count: 1)
        #expect(try set.apply([.wait(0, flags: .noWait)]) == .wouldBlock)
        #expect(try set.tryWait() == false)
        try set.signal()
        #expect(try set.tryWait() == true)
        #expect(try set.value(at: 0) == 0)
    }

    @Test("wait for zero: applied at 0, would block above")
    func waitForZero() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, initialValues: [0, 2])
        #expect(try set.apply([.waitForZero(0)]) == .applied)
        #expect(try set.apply([.waitForZero(1, flags: .noWait)]) == .wouldBlock)
    }

    @Test("a timeout that passes gives timedOut and applies nothing", arguments: [Duration.zero, .milliseconds(1)])
    func timeout(after limit: Duration) throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, initialValues: [0, 1])
        #expect(try set.apply([.wait(1), .wait(0)], timeout: limit) == .timedOut)
        #expect(try set.values() == [0, 1])
        #expect(try set.apply([.wait(1)], timeout: limit) == .applied)
    }

    @Test("withLock gives the semaphore back, even when the body throws")
    func withLock() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, initialValues: [1])
        #expect(try set.withLock { try set.value(at: 0) } == 0)
        #expect(throws: CancellationError.self) { try set.withLock { throw CancellationError() } }
        #expect(try set.value(at: 0) == 1)
    }

    @Test("4 peers x 2000 increments under the semaphore: exactly 8000")
    func countUnderSemaphore() throws {
        let semaphores = try Self.newAddress()
        let counter = try TestNames.address(.posix, "counter")
        defer { removeSemaphores(semaphores); cleanUp(counter) }
        let set = try SystemVSemaphoreSet(semaphores, mode: .create, initialValues: [1])
        let region = try SharedRegions.open(counter, size: 4096, mode: .create)
        let (processes, increments) = (4, 2000)
        let peers = try (0..<processes).map { _ in
            try ChildProcess.peer("sem-count", "\(semaphores)", "\(counter)", "64", "\(increments)")
        }
        for peer in peers { try peer.expectSuccess() }
        let total = region.baseAddress.load(fromByteOffset: 64, as: UInt64.self)
        #expect(total == UInt64(processes * increments))
        #expect(try set.value(at: 0) == 1)
    }

    @Test("a peer killed while holding the semaphore with undo gives it back")
    func undoOnKill() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, mode: .create, initialValues: [1])
        let peer = try ChildProcess.peer("sem-op", "\(address)", "0", "-1", "undo", "wait")
        #expect(try peer.readLine() == "about to wait")
        #expect(try peer.readLine() == "applied")
        #expect(try set.value(at: 0) == 0)
        kill(peer.pid, SIGKILL)
        #expect(try peer.finish().status == 128 + SIGKILL)
        #expect(try set.value(at: 0) == 1)
    }

    @Test("GETNCNT and GETZCNT count blocked peers; GETPID shows who operated last")
    func waitingCounts() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, mode: .create, initialValues: [0, 1])
        let taker = try ChildProcess.peer("sem-op", "\(address)", "0", "-1", "-")
        #expect(try taker.readLine() == "about to wait")
        #expect(try pollKernel { try set.waitingCount(at: 0) == 1 })
        let zeroWaiter = try ChildProcess.peer("sem-op", "\(address)", "1", "0", "-")
        #expect(try zeroWaiter.readLine() == "about to wait")
        #expect(try pollKernel { try set.zeroWaitingCount(at: 1) == 1 })
        #expect(try set.waitingCount(at: 1) == 0 && set.zeroWaitingCount(at: 0) == 0)
        try set.setValues([1, 0])  // wakes both
        #expect(try taker.readLine() == "applied")
        #expect(try zeroWaiter.readLine() == "applied")
        #expect(try set.lastProcessID(at: 0) == taker.pid)
        #expect(try set.lastProcessID(at: 1) == zeroWaiter.pid)
        #expect(try set.waitingCount(at: 0) == 0 && set.zeroWaitingCount(at: 1) == 0)
        try taker.expectSuccess()
        try zeroWaiter.expectSuccess()
    }

    @Test("removing the set wakes a waiting peer with the removed error")
    func removalWakesWaiter() throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, count: 1, mode: .create)
        let peer = try ChildProcess.peer("sem-op", "\(address)", "0", "-1", "-")
        #expect(try peer.readLine() == "about to wait")
        #expect(try pollKernel { try set.waitingCount(at: 0) == 1 })
        try set.remove()
        #expect(try peer.readLine() == "error notFound: the semaphore set was removed while waiting")
        try peer.expectSuccess()
        let gone = #expect(throws: SharedMemoryError.self) { try set.value(at: 0) }
        #expect(gone?.code == .notFound)
    }

    /// A stop signal makes a waiting `semop` fail with EINTR even without a handler (signal(7)):
    /// the peer must go back to waiting rather than report an error.
    @Test("a waiter interrupted by SIGSTOP and SIGCONT goes back to waiting", arguments: ["-", "timeout=600"])
    func interruptedWaitResumes(flags: String) throws {
        let address = try Self.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, count: 1, mode: .create)
        let peer = try ChildProcess.peer("sem-op", "\(address)", "0", "-1", flags)
        #expect(try peer.readLine() == "about to wait")
        #expect(try pollKernel { try set.waitingCount(at: 0) == 1 })
        kill(peer.pid, SIGSTOP)
        var status: Int32 = 0
        while waitpid(peer.pid, &status, WUNTRACED) == -1 && errno == EINTR {}
        #expect(try pollKernel { try set.waitingCount(at: 0) == 0 })  // left semop with EINTR
        kill(peer.pid, SIGCONT)
        #expect(try pollKernel { try set.waitingCount(at: 0) == 1 })  // and went back in
        try set.signal()
        #expect(try peer.readLine() == "applied")
        try peer.expectSuccess()
    }
}

/// Polls a kernel counter until `condition` holds, yielding between polls; false only after
/// a bound far beyond any plausible wait. The other process's progress is what is awaited.
func pollKernel(_ condition: () throws -> Bool) rethrows -> Bool {
    for _ in 0..<50_000_000 {
        if try condition() { return true }
        sched_yield()
    }
    return false
}

/// Removes a semaphore set a test made, whatever happened: used in `defer`.
func removeSemaphores(_ address: RegionAddress) {
    try? SystemVSemaphoreSet.remove(address)
}
