#if canImport(Glibc)
import Glibc
#endif
@testable import SharedMemory
import Synchronization
import Testing

/// Event services across real processes (the test peer's `event-*` steps), over every named backend.
@Suite("Events")
struct EventTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }
    static let timeout = Duration.seconds(20)

    func makeService(_ configuration: EventConfiguration, on backend: SharedRegionBackend = .posix) throws -> EventService {
        try EventService(openingOrCreating: try TestNames.address(backend, "events"), configuration: configuration)
    }

    /// Waits (bounded) until `listener` learns an id that `accept` takes; the ids it learned.
    func waitFor(_ listener: Listener, _ accept: ([Int]) -> Bool) throws -> [Int] {
        while true {
            let fired = try listener.wait(timeout: Self.timeout)
            guard !fired.isEmpty else {
                Issue.record("nothing fired within \(Self.timeout)")
                return []
            }
            if accept(fired.eventIDs) { return fired.eventIDs }
        }
    }

    @Test("one notifier process, three listener processes: each sees every fired id", arguments: named)
    func fanOut(backend: SharedRegionBackend) throws {
        let service = try makeService(EventConfiguration(maxNotifiers: 2, maxListeners: 4, maxEventID: 99), on: backend)
        defer { cleanUp(service.address) }
        let address = "\(service.address)"
        let listeners = try (0..<3).map { _ in try ChildProcess.peer("event-listen", address, "100") }
        for listener in listeners { #expect(try listener.readLine()?.hasPrefix("attached ") == true) }
        let notifier = try ChildProcess.peer("event-notify", address, "0", "100")
        #expect(try notifier.readLine() == "notified 100")
        try notifier.expectSuccess()
        for listener in listeners {
            #expect(try listener.readLine() == "seen 100")
            try listener.expectSuccess()
        }
        #expect(try service.attachedProcesses().listeners.isEmpty)
    }

    @Test("a listener asleep in futex_wait is woken by a notification from another process")
    func wakesSleeper() throws {
        let service = try makeService(EventConfiguration())
        defer { cleanUp(service.address) }
        let peer = try ChildProcess.peer("event-listen", "\(service.address)", "1")
        let line = try #require(try peer.readLine())
        let index = try #require(Int(line.dropFirst("attached ".count)))
        // The peer announces its sleep in its slot's flag before futex_wait: wait (bounded) for it.
        let slot = service.registry.listeners[index]
        let deadline = ContinuousClock.now + Self.timeout
        while slot.sleeping.pointee.load(ordering: .sequentiallyConsistent) == 0 && ContinuousClock.now < deadline {
            sched_yield()
        }
        #expect(slot.sleeping.pointee.load(ordering: .sequentiallyConsistent) == 1, "the listener never slept")
        #expect(try Notifier(service: service).notify(0) == 1)
        #expect(try peer.readLine() == "seen 1")
        try peer.expectSuccess()
    }

    @Test("2,000 notify/wait hand-offs between two processes, none lost", arguments: named)
    func pingPong(backend: SharedRegionBackend) throws {
        let service = try makeService(EventConfiguration(maxNotifiers: 2, maxListeners: 2, maxEventID: 7), on: backend)
        defer { cleanUp(service.address) }
        let listener = try Listener(service: service)
        let notifier = try Notifier(service: service)
        let rounds = 2_000
        let peer = try ChildProcess.peer("event-pingpong", "\(service.address)", "\(rounds)")
        #expect(try peer.readLine() == "attached")
        for _ in 0..<rounds {
            try notifier.notify(1)
            // Its own id 1 comes back too (every listener hears every notifier).
            guard try !waitFor(listener, { $0.contains(2) }).isEmpty else { break }
        }
        #expect(try peer.readLine() == "done \(rounds)")
        try peer.expectSuccess()
    }

    @Test("ports attaching, leaving and dying are posted to listeners")
    func portChanges() throws {
        let service = try makeService(EventConfiguration())
        defer { cleanUp(service.address) }
        let listener = try Listener(service: service)
        #expect(try listener.tryWait().isEmpty)
        let attaching = try ChildProcess.peer("event-attach", "\(service.address)", "notifier")
        #expect(try attaching.readLine() == "attached")
        try attaching.expectSuccess()
        #expect(try listener.tryWait().portChanges == [.attached, .left])

        let doomed = try ChildProcess.peer("event-listen", "\(service.address)", "1")
        #expect(try doomed.readLine()?.hasPrefix("attached ") == true)
        #expect(try listener.tryWait().portChanges == [.attached])
        try doomed.kill()
        // A wait that times out looks for the dead.
        let fired = try listener.wait(timeout: .milliseconds(1))
        #expect(fired.portChanges == [.died])
        #expect(try service.attachedProcesses().listeners == [getpid()])
        #expect(try service.cleanDeadPorts() == 0)
    }

    @Test("each id once however often it fired; ids in increasing order; tryWait empties the set")
    func collapse() throws {
        let service = try makeService(EventConfiguration(maxEventID: 200))
        defer { cleanUp(service.address) }
        let listener = try Listener(service: service)
        let notifier = try Notifier(service: service)
        _ = try listener.tryWait()
        for id in [200, 3, 64, 3, 63, 200, 0] { try notifier.notify(id) }
        #expect(try listener.tryWait().eventIDs == [0, 3, 63, 64, 200])
        #expect(try listener.tryWait().isEmpty)
        #expect(try listener.wait(timeout: .zero).isEmpty)
    }

    @Test("bad input: an id out of range, a port too many, a configuration out of range")
    func badInput() throws {
        let service = try makeService(EventConfiguration(maxNotifiers: 1, maxListeners: 1, maxEventID: 9))
        defer { cleanUp(service.address) }
        let notifier = try Notifier(service: service)
        #expect(throws: SharedMemoryError.self) { try notifier.notify(10) }
        #expect(throws: SharedMemoryError.self) { try notifier.notify(-1) }
        let listener = try Listener(service: service)
        let peer = try ChildProcess.peer("event-attach", "\(service.address)", "listener")
        #expect(try peer.readLine() == "error:limitExceeded")
        try peer.expectSuccess()
        _ = listener
        for bad in [
            EventConfiguration(maxNotifiers: 0), EventConfiguration(maxListeners: 257),
            EventConfiguration(maxEventID: -1), EventConfiguration(maxEventID: 4096),
        ] {
            let error = #expect(throws: SharedMemoryError.self) {
                try EventService(openingOrCreating: try TestNames.address(.posix, "events"), configuration: bad)
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("opening with another configuration is a typed error naming both, whether or not the sizes differ")
    func configurationMismatch() throws {
        let service = try makeService(EventConfiguration(maxNotifiers: 2, maxListeners: 8, maxEventID: 63))
        defer { cleanUp(service.address) }
        // 4 listeners: another size; largest id 10: the same size, another configuration.
        for (listeners, largest) in [(4, 63), (8, 10)] {
            let peer = try ChildProcess.peer("event-create", "\(service.address)", "2", "\(listeners)", "\(largest)")
            let line = try #require(try peer.readLine())
            #expect(line.hasPrefix("error:layoutMismatch"), "\(line)")
            #expect(line.contains("\(service.configuration)"), "\(line)")
            #expect(line.contains("event ids 0...\(largest)"), "\(line)")
            try peer.expectSuccess()
        }
        let same = try ChildProcess.peer("event-create", "\(service.address)", "2", "8", "63")
        #expect(try same.readLine() == "opened")
        try same.expectSuccess()
    }

    /// A peer's garbage at one place of the region, and the call that must report it.
    struct Garbage: CustomTestStringConvertible, Sendable {
        let name: String
        let offset: @Sendable (EventLayout) -> Int
        let hex: String
        let use: @Sendable (EventService, Listener) throws -> Void
        var testDescription: String { name }
    }

    static let garbage: [Garbage] = [
        Garbage(name: "a listener's sleeping flag", offset: { $0.listenerPort(0) + EventLayout.Port.sleeping }, hex: "07000000") {
            service, _ in try Notifier(service: service).notify(1)
        },
        Garbage(name: "a notifier's port word", offset: { $0.notifierPort(1) }, hex: "0200000000000000") { service, _ in
            _ = try Notifier(service: service)
        },
        Garbage(name: "a listener's port word", offset: { $0.listenerPort(1) }, hex: "0100000000000000") { service, _ in
            try Notifier(service: service).notify(1)
        },
        Garbage(name: "ids above the largest", offset: { $0.listenerPort(0) + EventLayout.Port.events }, hex: "00f0") {
            _, listener in _ = try listener.tryWait()
        },
        Garbage(name: "port changes", offset: { $0.listenerPort(0) + EventLayout.Port.portChanges }, hex: "08000000") {
            _, listener in _ = try listener.wait(timeout: .seconds(20))
        },
        Garbage(name: "the configuration", offset: { $0.configurationOffset + EventLayout.Field.maxListeners }, hex: "00000000") {
            service, _ in _ = try EventService(opening: service.address)
        },
    ]

    @Test("a peer writing garbage into the region gets typed .corrupted errors, never a crash", arguments: garbage)
    func corrupted(garbage: Garbage) throws {
        let service = try makeService(EventConfiguration(maxNotifiers: 2, maxListeners: 2, maxEventID: 11))
        defer { cleanUp(service.address) }
        let listener = try Listener(service: service)
        let offset = garbage.offset(service.memory.layout)
        let peer = try ChildProcess.peer("open", "\(service.address)", "write", "\(offset)", garbage.hex)
        try peer.expectSuccess()
        let error = #expect(throws: SharedMemoryError.self) { try garbage.use(service, listener) }
        #expect(error?.code == .corrupted, "\(String(describing: error))")
    }
}
