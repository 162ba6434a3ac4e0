import SharedMemory
import Testing

/// `shm event create`, `shm notify` and `shm listen`, run as the real tool.
@Suite("Events on the command line")
struct EventCommandLineTests {
    static func shm(_ arguments: String...) throws -> (status: Int32, output: String, errors: String) {
        let result = try ChildProcess("shm", arguments).finish()
        return (result.status, String(decoding: result.output, as: UTF8.self), result.errors)
    }

    /// Waits (bounded) until a port attaches, as a listener of the service learns it.
    static func awaitAttach(_ listener: Listener) throws {
        while true {
            let fired = try listener.wait(timeout: .seconds(20))
            guard !fired.isEmpty else {
                Issue.record("no port attached within 20 seconds")
                return
            }
            if fired.portChanges.contains(.attached) { return }
        }
    }

    @Test("create, listen in one process, notify from others: the ids one per line", arguments: CommandLineTests.named)
    func verbs(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "cli-events").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        let created = try Self.shm("event", "create", address, "--listeners", "3", "--max-event-id", "9")
        #expect(created.status == 0 && created.output == address + "\n", "\(created.errors)")
        let again = try Self.shm("event", "create", address, "--listeners", "3", "--max-event-id", "9")
        #expect(again.status == 1 && again.errors.contains("exists already"), "\(again.errors)")
        let mismatch = try Self.shm("event", "create", address, "--max-event-id", "10", "--open-or-create")
        #expect(mismatch.status == 1 && mismatch.errors.contains("event ids 0...9"), "\(mismatch.errors)")
        let reopened = try Self.shm("event", "create", address, "--listeners", "3", "--max-event-id", "9", "--open-or-create")
        #expect(reopened.output == address + " opened\n", "\(reopened.errors)")

        let watcher = try Listener(service: try EventService(opening: try RegionAddress(parsing: address)))
        let listen = try ChildProcess("shm", ["listen", address, "--count", "3", "--timeout", "20"])
        try Self.awaitAttach(watcher)
        #expect(try Self.shm("notify", address, "--event", "5", "--event", "2").status == 0)
        #expect(try Self.shm("notify", address, "--event", "7").status == 0)
        let result = try listen.finish()
        #expect(result.status == 0, "\(result.errors)")
        let ids = String(decoding: result.output, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        #expect(ids.sorted() == [2, 5, 7], "\(ids)")
    }

    @Test("listen exits 3 at its timeout; bad ids and configurations are refused with a reason")
    func timeoutsAndBadInput() throws {
        let address = try TestNames.address(.posix, "cli-events").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        let missing = try Self.shm("listen", address, "--timeout", "1")
        #expect(missing.status == 1, "\(missing.errors)")
        let tooMany = try Self.shm("event", "create", address, "--listeners", "0")
        #expect(tooMany.status != 0 && tooMany.errors.contains("maxListeners"), "\(tooMany.errors)")
        #expect(try Self.shm("event", "create", address, "--max-event-id", "3").status == 0)
        let late = try Self.shm("listen", address, "--count", "1", "--timeout", "0.1")
        #expect(late.status == 3 && late.errors.contains("timed out"), "\(late)")
        let outside = try Self.shm("notify", address, "--event", "4")
        #expect(outside.status == 1 && outside.errors.contains("0...3"), "\(outside.errors)")
        let none = try Self.shm("notify", address)
        #expect(none.status != 0 && none.errors.contains("--event"), "\(none.errors)")
    }
}
