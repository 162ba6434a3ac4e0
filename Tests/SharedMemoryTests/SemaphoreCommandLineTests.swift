#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SharedMemory
import Testing

/// `shm sem`, run as a user would run it: a separate process, its output and exit status.
@Suite("shm sem command line", .enabled(if: SharedRegionBackend.systemV.isAvailable))
struct SemaphoreCommandLineTests {
    static func shm(_ arguments: String...) throws -> (status: Int32, output: String, errors: String) {
        let result = try ChildProcess("shm", arguments).finish()
        return (result.status, String(decoding: result.output, as: UTF8.self), result.errors)
    }

    @Test("create, get, set, op, stat, remove")
    func verbs() throws {
        let address = try SemaphoreTests.newAddress()
        let text = address.description
        defer { removeSemaphores(address) }

        let created = try Self.shm("sem", "create", text, "--count", "3", "--values", "1,0,5")
        #expect(created.status == 0, "\(created.errors)")
        #expect(created.output == text + "\n")
        #expect(try Self.shm("sem", "get", text).output == "1 0 5\n")

        #expect(try Self.shm("sem", "set", text, "1", "7").status == 0)
        #expect(try Self.shm("sem", "get", text).output == "1 7 5\n")
        #expect(try Self.shm("sem", "set", text, "--values", "2,2,2").status == 0)

        #expect(try Self.shm("sem", "op", text, "0:-1", "1:-2", "2:+3").status == 0)
        #expect(try Self.shm("sem", "get", text).output == "1 0 5\n")

        let blocked = try Self.shm("sem", "op", text, "0:-1", "1:-1", "--nowait")
        #expect(blocked.status == 2)
        #expect(blocked.errors.contains("would block"))
        let late = try Self.shm("sem", "op", text, "1:-1", "--timeout", "0")
        #expect(late.status == 3)
        #expect(late.errors.contains("timed out"))
        #expect(try Self.shm("sem", "op", text, "1:0", "--nowait").status == 0)
        #expect(try Self.shm("sem", "op", text, "2:-5", "--undo").status == 0)  // undone as shm exits
        #expect(try Self.shm("sem", "get", text).output == "1 0 5\n")

        let stat = try Self.shm("sem", "stat", text, "--json")
        #expect(stat.status == 0, "\(stat.errors)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stat.output.utf8)) as? [String: Any])
        #expect(object["address"] as? String == text)
        #expect(object["backend"] as? String == "sysv")
        #expect(object["count"] as? Int == 3)
        #expect(object["permissions"] as? String == "0600")
        #expect(object["uid"] as? Int == Int(getuid()))
        #expect(object["gid"] as? Int == Int(getgid()))
        #expect(object["values"] as? [Int] == [1, 0, 5])
        #expect(object["otime"] as? Int != nil)
        #expect(object["ctime"] as? Int != nil)
        #expect(object["waiting"] as? [Int] == [0, 0, 0])
        #expect(try Self.shm("sem", "stat", text).output.contains("permissions   0600"))

        #expect(try Self.shm("sem", "remove", text).status == 0)
        let gone = try Self.shm("sem", "get", text)
        #expect(gone.status == 1)
        #expect(gone.errors.contains("hint: no semaphore set exists at \(text)"))
    }

    @Test("create --permissions, and an exclusive collision that names sem remove")
    func createOptions() throws {
        let address = try SemaphoreTests.newAddress()
        let text = address.description
        defer { removeSemaphores(address) }
        #expect(try Self.shm("sem", "create", text, "--values", "0,0", "--permissions", "640").status == 0)
        let collision = try Self.shm("sem", "create", text, "--count", "2")
        #expect(collision.status == 1)
        #expect(collision.errors.contains("shm sem remove \(text)"))
        let set = try SystemVSemaphoreSet(address, mode: .open)
        #expect(set.count == 2)
        #expect(try set.status().permissions == [.ownerReadWrite, .groupRead])
    }

    @Test("sysv:private prints the id that reopens it")
    func privateSet() throws {
        let created = try Self.shm("sem", "create", "sysv:private", "--count", "1")
        let text = created.output.trimmingCharacters(in: .newlines)
        defer { if let address = RegionAddress(text) { removeSemaphores(address) } }
        #expect(text.hasPrefix("sysv:id="))
        #expect(try Self.shm("sem", "op", text, "0:+4").status == 0)
        #expect(try Self.shm("sem", "get", text).output == "4\n")
        #expect(try Self.shm("sem", "remove", text).status == 0)
    }

    @Test("an op that waits goes on when another shm gives the semaphore")
    func waitingOp() throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, count: 1, mode: .create)
        let waiter = try ChildProcess("shm", ["sem", "op", address.description, "0:-1"])
        #expect(try pollKernel { try set.waitingCount(at: 0) == 1 })
        #expect(try Self.shm("sem", "op", address.description, "0:1").status == 0)
        try waiter.expectSuccess()
        #expect(try set.lastProcessID(at: 0) == waiter.pid)
    }

    @Test(
        "bad input on an existing set: a message and hint, status 1, values unchanged",
        arguments: [
            ["set", "5", "1"], ["set", "0", "40000"], ["set", "0", "-1"], ["set", "--values", "1"],
            ["op", "9:-1"], ["op", "0:40000"], ["op", "0:-32768"], ["op", "0:32767", "1:1"],
        ])
    func badInputOnSet(arguments: [String]) throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, mode: .create, initialValues: [3, 32767])
        let result = try ChildProcess("shm", ["sem", arguments[0], address.description] + arguments.dropFirst()).finish()
        #expect(result.status == 1)
        #expect(result.errors.contains("hint:"))
        #expect(try set.values() == [3, 32767])
    }

    @Test(
        "bad input: a message on stderr, a non-zero status, nothing made",
        arguments: [
            ["create", "posix:/smtest-sem", "--count", "1"], ["create", "sysv:0x5e3a0bad"],
            ["create", "sysv:0x5e3a0bad", "--count", "0"], ["create", "sysv:0x5e3a0bad", "--count", "2", "--values", "1,2,3"],
            ["create", "sysv:0x5e3a0bad", "--values", "40000"], ["create", "sysv:0x5e3a0bad", "--values", "1,x"],
            ["create", "sysv:0x5e3a0bad", "--count", "1", "--permissions", "999"], ["create", "sysv:id=5", "--count", "1"],
            ["get", "sysv:0x5e3a0bad"], ["get", "sysv:id=x"], ["set", "sysv:0x5e3a0bad", "0"],
            ["set", "sysv:0x5e3a0bad", "0", "1"], ["set", "sysv:0x5e3a0bad", "0", "1", "--values", "1"],
            ["op", "sysv:0x5e3a0bad"], ["op", "sysv:0x5e3a0bad", "0-1"], ["op", "sysv:0x5e3a0bad", "0:1"],
            ["op", "sysv:0x5e3a0bad", "0:1", "--timeout", "-1"], ["stat", "sysv:0x5e3a0bad"], ["stat", "bogus"],
            ["remove", "sysv:0x5e3a0bad"], ["remove", "sysv:private"], ["frobnicate"],
        ])
    func badInput(arguments: [String]) throws {
        let result = try ChildProcess("shm", ["sem"] + arguments).finish()
        #expect(result.status != 0)
        #expect(!result.errors.isEmpty)
        #expect(!result.errors.contains("Fatal error"))
        let lookup = #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet("sysv:0x5e3a0bad", mode: .open) }
        #expect(lookup?.code == .notFound)
    }
}
