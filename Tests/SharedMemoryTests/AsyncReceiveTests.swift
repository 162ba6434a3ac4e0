@testable import SharedMemory
import Synchronization
import Testing

/// Subscribers and listeners as `AsyncSequence`s (Concurrency/): a peer process publishes or
/// notifies, a task here consumes with `for try await`, suspended on the process's one waiter
/// thread while there is nothing. Every wait is watched: no progress for `stall` cancels it
/// (which ends every async wait) and fails the test, so a lost wake-up is a failure, not a hang.
/// The bound is generous: in the full suite, synchronous tests can hold every thread of the
/// cooperative pool for minutes, and a resumed task waits for one.
@Suite("Async receive")
struct AsyncReceiveTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }
    static let stall = Duration.seconds(300)

    /// Counts the steps of a watched body.
    final class Progress: Sendable {
        let steps = Atomic<Int>(0)
        func step() { steps.wrappingAdd(1, ordering: .relaxed) }
    }

    struct Stalled: Error {}

    /// Runs `body` beside a watchdog; if `body` makes no step for `stall`, the watchdog cancels it
    /// and the test fails.
    func watched<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Progress) async throws -> T) async throws -> T {
        let progress = Progress()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body(progress) }
            group.addTask {
                var seen = -1
                while true {
                    try await Task.sleep(for: Self.stall)
                    let steps = progress.steps.load(ordering: .relaxed)
                    if steps == seen { return nil }
                    seen = steps
                }
            }
            let first = try await group.next()!
            group.cancelAll()
            guard let result = first else {
                Issue.record("\(what): no progress for \(Self.stall)")
                throw Stalled()
            }
            return result
        }
    }

    /// Returns once every flag says the waiter thread announced a sleep for its port (bounded):
    /// the tasks waiting on those ports are suspended.
    func untilAsleep(_ flags: [UnsafeMutablePointer<Atomic<UInt32>>]) async {
        let deadline = ContinuousClock.now + Self.stall
        while flags.contains(where: { $0.pointee.load(ordering: .sequentiallyConsistent) == 0 }) && ContinuousClock.now < deadline {
            await Task.yield()
        }
        #expect(!flags.contains { $0.pointee.load(ordering: .sequentiallyConsistent) == 0 }, "the waiter thread never slept")
    }

    func makeService(_ backend: SharedRegionBackend = .posix, subscribers: Int = 1) throws -> PublishSubscribeService {
        try PublishSubscribeService(
            openingOrCreating: try TestNames.address(backend, "async"),
            // Queues that hold every sample a test sends: a publisher peer never waits for room (it
            // gives up after 20 s, while a task here may wait that long for a thread of the pool).
            configuration: ServiceConfiguration(
                payloadByteCount: 64, maxPublishers: 1, maxSubscribers: subscribers, subscriberBufferCapacity: 512))
    }

    @Test("for try await receives, in order, every sample a peer process publishes", arguments: named)
    func forAwaitBytes(backend: SharedRegionBackend) async throws {
        let service = try makeService(backend)
        defer { cleanUp(service.address) }
        let subscriber = try Subscriber(service: service)
        let peer = try ChildProcess.peer("pubsub-publish", "\(service.address)", "300", "64")
        let numbers = try await watched("receiving 300 samples") { progress in
            var numbers: [Int] = []
            for try await bytes in subscriber {
                numbers.append(Int(UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })))
                progress.step()
                if numbers.count == 300 { break }
            }
            return numbers
        }
        #expect(numbers == Array(0..<300))
        try peer.expectSuccess()
    }

    @Test("values(of:) and nextSample() receive a peer's samples as values and in place")
    func valuesAndSamples() async throws {
        let service = try makeService()
        defer { cleanUp(service.address) }
        let subscriber = try Subscriber(service: service)
        // Samples of 8 bytes: each one its number.
        let peer = try ChildProcess.peer("pubsub-publish", "\(service.address)", "200", "8")
        let numbers = try await watched("receiving 200 values") { progress in
            var numbers: [UInt64] = []
            for try await number in subscriber.values(of: UInt64.self) {
                numbers.append(number)
                progress.step()
                if numbers.count == 100 { break }
            }
            while numbers.count < 200, let sample = try await subscriber.nextSample() {
                numbers.append(sample.bytes.loadUnaligned(as: UInt64.self))
                progress.step()
            }
            return numbers
        }
        #expect(numbers == (0..<200).map { UInt64($0) })
        try peer.expectSuccess()
        // A sample of the wrong size is an error, not a value.
        let wrong = try ChildProcess.peer("pubsub-publish", "\(service.address)", "1", "64")
        try wrong.expectSuccess()
        await #expect(throws: SharedMemoryError.self) {
            var values = subscriber.values(of: UInt32.self).makeAsyncIterator()
            _ = try await values.next()
        }
    }

    @Test("for try await hears the ids a peer process notifies", arguments: named)
    func forAwaitEvents(backend: SharedRegionBackend) async throws {
        let service = try EventService(openingOrCreating: try TestNames.address(backend, "async"), configuration: EventConfiguration())
        defer { cleanUp(service.address) }
        let listener = try Listener(service: service)
        let peer = try ChildProcess.peer("event-notify", "\(service.address)", "1", "5")
        let heard = try await watched("hearing ids 1...5") { progress in
            var heard = Set<Int>()
            var changes: PortChanges = []
            for try await fired in listener {
                heard.formUnion(fired.eventIDs)
                changes.formUnion(fired.portChanges)
                progress.step()
                if heard.isSuperset(of: 1...5) && changes.contains(.attached) { break }
            }
            return heard
        }
        #expect(heard == Set(1...5))
        try peer.expectSuccess()
    }

    @Test("cancelling a task suspended with nothing published ends its wait with nil; the subscriber then receives")
    func cancelSubscriberWait() async throws {
        let service = try makeService()
        defer { cleanUp(service.address) }
        let subscriber = try Subscriber(service: service)
        let waiting = Task { try await subscriber.nextSample() != nil }
        await untilAsleep([subscriber.sleeping])
        waiting.cancel()
        let received = try await watched("the cancelled wait") { _ in try await waiting.value }
        #expect(received == false)
        let peer = try ChildProcess.peer("pubsub-publish", "\(service.address)", "1", "64")
        let count = try await watched("the wait after the cancellation") { _ -> Int? in
            guard let sample = try await subscriber.nextSample() else { return nil }
            return sample.bytes.count
        }
        #expect(count == 8)
        try peer.expectSuccess()
    }

    @Test("cancelling a suspended listener's task ends its for-await loop; a task cancelled before it waits gets nil at once")
    func cancelListenerWait() async throws {
        let service = try EventService(openingOrCreating: try TestNames.address(.posix, "async"), configuration: EventConfiguration())
        defer { cleanUp(service.address) }
        let listener = try Listener(service: service)
        let loop = Task {
            var rounds = 0
            for try await _ in listener { rounds += 1 }
            return rounds
        }
        await untilAsleep([listener.slot.sleeping])
        loop.cancel()
        #expect(try await watched("the cancelled loop") { _ in try await loop.value } == 0)
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await listener.nextEvents() == nil
        }
        #expect(try await early.value)
    }

    @Test("more tasks waiting than pool threads: every one is woken and receives every sample")
    func manyWaiters() async throws {
        let count = 16
        let service = try makeService(subscribers: count)
        defer { cleanUp(service.address) }
        let subscribers = try (0..<count).map { _ in try Subscriber(service: service) }
        let received = try await watched("\(count) subscribers receiving 50 samples each") { progress in
            try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for subscriber in subscribers {
                    group.addTask {
                        var numbers: [UInt64] = []
                        for try await number in subscriber.values(of: UInt64.self) {
                            numbers.append(number)
                            progress.step()
                            if numbers.count == 50 { break }
                        }
                        return numbers
                    }
                }
                // All of them suspended at once, on a pool of one or two threads per core.
                await untilAsleep(subscribers.map(\.sleeping))
                let peer = try ChildProcess.peer("pubsub-publish", "\(service.address)", "50", "8")
                var all: [[UInt64]] = []
                for try await numbers in group { all.append(numbers) }
                try peer.expectSuccess()
                return all
            }
        }
        #expect(received.count == count)
        #expect(received.allSatisfy { $0 == (0..<50).map { UInt64($0) } })
    }

    @Test("2,000 sleep and wake hand-offs with a peer process through nextSample(), each wait watched")
    func samplePingPong() async throws {
        let ping = try makeService()
        let pong = try makeService()
        defer {
            cleanUp(ping.address)
            cleanUp(pong.address)
        }
        let publisher = try Publisher(service: ping)
        let subscriber = try Subscriber(service: pong)
        let rounds = 2000
        let peer = try ChildProcess.peer("pubsub-echo", "\(ping.address)", "\(pong.address)", "\(rounds)")
        #expect(try peer.readLine() == "attached")
        let completed = try await watched("the ping-pong") { progress in
            for round in 0..<rounds {
                try publisher.send(value: UInt64(round))
                // No spinning: nearly every round suspends and is woken through the waiter thread.
                guard let sample = try await subscriber.nextSample(strategy: SpinThenWait(spins: 0)),
                    try sample.load(as: UInt64.self) == UInt64(round)
                else { return round }
                progress.step()
            }
            return rounds
        }
        #expect(completed == rounds)
        try peer.expectSuccess()
    }

    @Test("1,000 sleep and wake hand-offs with a peer process through a listener's for-await loop")
    func eventPingPong() async throws {
        let service = try EventService(openingOrCreating: try TestNames.address(.posix, "async"), configuration: EventConfiguration())
        defer { cleanUp(service.address) }
        let listener = try Listener(service: service)
        let notifier = try Notifier(service: service)
        let rounds = 1000
        let peer = try ChildProcess.peer("event-echo", "\(service.address)", "\(rounds)")
        #expect(try peer.readLine() == "attached")
        let completed = try await watched("the ping-pong") { progress in
            var events = listener.makeAsyncIterator()
            for round in 0..<rounds {
                try notifier.notify(1)
                // Its own id 1 comes back too (every listener hears every notifier): wait for the peer's 2.
                while true {
                    guard let fired = try await events.next() else { return round }
                    if fired.eventIDs.contains(2) { break }
                }
                progress.step()
            }
            return rounds
        }
        #expect(completed == rounds)
        try peer.expectSuccess()
    }
}
