#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import SharedMemory
import Synchronization
import Testing

/// Waiting on several ports at once (`WaitSet`), the sleeper in one process and the ports fired
/// from another.
@Suite("Wait sets")
struct WaitSetTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }
    static let timeout = Duration.seconds(20)

    /// A publish-subscribe service and an event service on `backend`.
    func makeServices(_ backend: SharedRegionBackend = .posix) throws -> (PublishSubscribeService, EventService) {
        let samples = try PublishSubscribeService(
            openingOrCreating: try TestNames.address(backend, "waitset"),
            configuration: ServiceConfiguration(payloadByteCount: 64, maxPublishers: 1, maxSubscribers: 2))
        let events = try EventService(openingOrCreating: try TestNames.address(backend, "waitset"), configuration: EventConfiguration())
        return (samples, events)
    }

    /// Waits (bounded) until every flag says its port announced a sleep.
    func waitUntilAsleep(_ flags: [UnsafeMutablePointer<Atomic<UInt32>>]) {
        let deadline = ContinuousClock.now + Self.timeout
        while flags.contains(where: { $0.pointee.load(ordering: .sequentiallyConsistent) == 0 }) && ContinuousClock.now < deadline {
            sched_yield()
        }
        #expect(!flags.contains { $0.pointee.load(ordering: .sequentiallyConsistent) == 0 }, "the wait set never slept")
    }

    @Test("a process asleep on a subscriber and a listener wakes for whichever fires", arguments: named)
    func wakesOnEither(backend: SharedRegionBackend) throws {
        let (samples, events) = try makeServices(backend)
        defer {
            cleanUp(samples.address)
            cleanUp(events.address)
        }
        let publisher = try Publisher(service: samples)
        let notifier = try Notifier(service: events)
        let peer = try ChildProcess.peer("waitset-wait", "\(samples.address)", "\(events.address)", "4")
        #expect(try peer.readLine() == "attached")
        // The peer's subscriber and listener are the first of their services.
        let flags = [
            samples.memory.atomic32(samples.memory.layout.subscriberPort(0) + ServiceLayout.Port.sleeping),
            events.registry.listeners[0].sleeping,
        ]
        waitUntilAsleep(flags)
        try notifier.notify(3)
        #expect(try peer.readLine() == "listener 3")
        waitUntilAsleep(flags)
        try publisher.send(bytes: [7])
        #expect(try peer.readLine() == "subscriber 7")
        waitUntilAsleep(flags)
        try notifier.notify(9)
        #expect(try peer.readLine() == "listener 9")
        waitUntilAsleep(flags)
        try publisher.send(bytes: [11])
        #expect(try peer.readLine() == "subscriber 11")
        try peer.expectSuccess()
    }

    @Test("nothing fired: the wait ends at its timeout with nothing ready", arguments: [true, false])
    func timeout(usesFutexWaitv: Bool) throws {
        let (samples, events) = try makeServices()
        defer {
            cleanUp(samples.address)
            cleanUp(events.address)
        }
        let subscriber = try Subscriber(service: samples)
        let listener = try Listener(service: events)
        let waitSet = WaitSet(usesFutexWaitv: usesFutexWaitv)
        waitSet.add(subscriber)
        waitSet.add(listener)
        #expect(try waitSet.wait(timeout: .milliseconds(1)).isEmpty)
        #expect(try waitSet.wait(timeout: .zero).isEmpty)
        // The flags are withdrawn after the wait: publishers and notifiers make no wake call.
        #expect(subscriber.sleeping.pointee.load(ordering: .sequentiallyConsistent) == 0)
        #expect(listener.slot.sleeping.pointee.load(ordering: .sequentiallyConsistent) == 0)
    }

    @Test("a sample from another process ends the wait, with futex_waitv or by looking in slices", arguments: [true, false])
    func receivesFromPeer(usesFutexWaitv: Bool) throws {
        let (samples, events) = try makeServices()
        defer {
            cleanUp(samples.address)
            cleanUp(events.address)
        }
        let subscriber = try Subscriber(service: samples)
        let listener = try Listener(service: events)
        let waitSet = WaitSet(usesFutexWaitv: usesFutexWaitv)
        let listening = waitSet.add(listener)
        let receiving = waitSet.add(subscriber)
        #expect(waitSet.count == 2)
        let peer = try ChildProcess.peer("pubsub-publish", "\(samples.address)", "1", "64")
        #expect(try waitSet.wait(timeout: Self.timeout) == [receiving])
        #expect(try subscriber.receive() != nil)
        try peer.expectSuccess()
        // The publisher's departure is no event; a notifier attaching is one (a port change).
        let notifier = try ChildProcess.peer("event-notify", "\(events.address)", "0", "1")
        #expect(try notifier.readLine() == "notified 1")
        try notifier.expectSuccess()
        #expect(try waitSet.wait(timeout: Self.timeout) == [listening])
        #expect(try listener.tryWait().eventIDs == [0])
        waitSet.remove(listening)
        #expect(waitSet.count == 1)
        #expect(try waitSet.wait(timeout: .zero).isEmpty)
    }

    @Test("interrupt() ends the wait in progress, or the next one")
    func interrupt() throws {
        let (samples, events) = try makeServices()
        defer {
            cleanUp(samples.address)
            cleanUp(events.address)
        }
        let subscriber = try Subscriber(service: samples)
        let waitSet = WaitSet()
        waitSet.add(subscriber)
        waitSet.interrupt()
        #expect(try waitSet.wait(timeout: nil).isEmpty)
        // The wait blocks a thread of its own, never one of Swift's pool (which the other tests
        // running at once may hold); the lock hands its result to this thread.
        let result = Mutex<[WaitSet.SourceID]?>(nil)
        let done = Mutex(false)
        let waiter = Thread {
            let ready = try? waitSet.wait(timeout: nil)
            result.withLock { $0 = ready }
            done.withLock { $0 = true }
        }
        waiter.start()
        waitUntilAsleep([subscriber.sleeping])
        waitSet.interrupt()
        let deadline = ContinuousClock.now + Self.timeout
        while !done.withLock({ $0 }) && ContinuousClock.now < deadline { sched_yield() }
        #expect(result.withLock { $0 } == [], "the interrupted wait returned no empty list")
        _ = events
    }
}
