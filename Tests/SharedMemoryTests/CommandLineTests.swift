#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SharedMemory
import Testing

/// The `shm` tool, run as a user would run it: a separate process, its stdout and exit status.
@Suite("shm command line")
struct CommandLineTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }

    /// Runs `shm` with `arguments`, feeding `input` to its stdin.
    static func shm(_ arguments: String..., input: [UInt8] = []) throws -> (status: Int32, output: [UInt8], errors: String) {
        let process = try ChildProcess("shm", arguments)
        if !input.isEmpty { try process.write(input) }
        return try process.finish()
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("create, write, read, stat, remove", arguments: named)
    func verbs(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "cli").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }

        let created = try Self.shm("create", address, "--size", "4K")
        #expect(created.status == 0, "\(created.errors)")
        #expect(Self.text(created.output) == address + "\n")

        #expect(try Self.shm("write", address, "--hex", "DEADbeef").status == 0)
        #expect(try Self.shm("write", address, "--offset", "8", input: Array("from stdin".utf8)).status == 0)
        let read = try Self.shm("read", address, "--count", "18", "--hex")
        #expect(Self.text(read.output) == "deadbeef00000000" + hex(Array("from stdin".utf8)) + "\n")
        let raw = try Self.shm("read", address, "--offset", "8", "--count", "10")
        #expect(Self.text(raw.output) == "from stdin")
        #expect(try Self.shm("read", address).output.count == 4096)

        let stat = try Self.shm("stat", address, "--json")
        #expect(stat.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stat.output)) as? [String: Any])
        #expect(object["address"] as? String == address)
        #expect(object["backend"] as? String == backend.rawValue)
        #expect(object["size"] as? Int == 4096)
        #expect(object["mode"] as? String == "0600")
        #expect(object["uid"] as? Int == Int(getuid()))
        #expect(object["gid"] as? Int == Int(getgid()))
        #expect((object["attach_count"] as? Int == 0) == backend.capabilities.contains(.reportsAttachCount))
        let table = Self.text(try Self.shm("stat", address).output)
        #expect(table.contains("mode          0600"))

        #expect(try Self.shm("remove", address).status == 0)
        let gone = try Self.shm("stat", address)
        #expect(gone.status == 1)
        #expect(gone.errors.contains("hint:"))
    }

    @Test("create --mode, --open-or-create, and an exclusive collision", arguments: named)
    func createOptions(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "cli").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        #expect(try Self.shm("create", address, "--size", "100", "--mode", "644").status == 0)
        let collision = try Self.shm("create", address, "--size", "100")
        #expect(collision.status == 1)
        #expect(collision.errors.contains("--open-or-create"))
        #expect(collision.errors.contains("shm remove \(address)"))
        #expect(try Self.shm("create", address, "--size", "100", "--open-or-create").status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(try Self.shm("stat", address, "--json").output))
        #expect((object as? [String: Any])?["mode"] as? String == "0644")
    }

    @Test("write --file copies a file's bytes")
    func writeFromFile() throws {
        let address = try TestNames.address(.posix, "cli").description
        let path = "/tmp/\(TestNames.unique("input"))"
        defer { cleanUp(try! RegionAddress(parsing: address)); unlink(path) }
        try Data([1, 2, 3, 250]).write(to: URL(fileURLWithPath: path))
        #expect(try Self.shm("create", address, "--size", "1M").status == 0)
        #expect(try Self.shm("write", address, "--file", path, "--offset", "100").status == 0)
        #expect(Self.text(try Self.shm("read", address, "--offset", "100", "--count", "4", "--hex").output) == "010203fa\n")
    }

    @Test("sysv:private prints the id that reopens it")
    func privateSegment() throws {
        let created = try Self.shm("create", "sysv:private", "--size", "64")
        let address = Self.text(created.output).trimmingCharacters(in: .newlines)
        defer { if let parsed = RegionAddress(address) { cleanUp(parsed) } }
        #expect(address.hasPrefix("sysv:id="))
        #expect(try Self.shm("write", address, "--hex", "01").status == 0)
        #expect(try Self.shm("remove", address).status == 0)
    }

    @Test(
        "bad input: a message and hint on stderr, a non-zero status, nothing made",
        arguments: [
            ["create", "bogus", "--size", "1"], ["create", "posix:/a/b", "--size", "1"],
            ["create", "posix:/smtest-cli-bad", "--size", "0"], ["create", "posix:/smtest-cli-bad", "--size", "lots"],
            ["create", "posix:/smtest-cli-bad", "--size", "1", "--mode", "999"], ["create", "memfd:x", "--size", "1"],
            ["create", "sysv:0", "--size", "1"], ["create", "file:relative", "--size", "1"],
            ["write", "posix:/smtest-cli-bad", "--hex", "abc"], ["write", "posix:/smtest-cli-bad", "--hex", "00"],
            ["read", "posix:/smtest-cli-bad"], ["read", "posix:/smtest-cli-bad", "--offset", "-1"],
            ["stat", "posix:/smtest-cli-bad"], ["remove", "posix:/smtest-cli-bad"], ["remove"], ["frobnicate"],
        ])
    func badInput(arguments: [String]) throws {
        let result = try ChildProcess("shm", arguments).finish()
        #expect(result.status != 0)
        #expect(!result.errors.isEmpty)
        #expect(!result.errors.contains("Fatal error"))
        #expect(throws: SharedMemoryError.self) { try SharedMemory.status(of: .posix(name: "/smtest-cli-bad")) }
    }

    @Test("a write past the end changes nothing")
    func writePastEnd() throws {
        let address = try TestNames.address(.posix, "cli").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        #expect(try Self.shm("create", address, "--size", "4").status == 0)
        let result = try Self.shm("write", address, "--hex", "0102030405")
        #expect(result.status == 1)
        #expect(result.errors.contains("outside the region"))
        #expect(Self.text(try Self.shm("read", address, "--hex").output) == "00000000\n")
    }
}
