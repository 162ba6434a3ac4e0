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
        #expect(object["permissions"] as? String == "0600")
        #expect(object["uid"] as? Int == Int(getuid()))
        #expect(object["gid"] as? Int == Int(getgid()))
        #expect((object["attach_count"] as? Int == 0) == backend.capabilities.contains(.reportsAttachCount))
        let table = Self.text(try Self.shm("stat", address).output)
        #expect(table.contains("permissions   0600"))

        #expect(try Self.shm("remove", address).status == 0)
        let gone = try Self.shm("stat", address)
        #expect(gone.status == 1)
        #expect(gone.errors.contains("hint:"))
    }

    @Test("create --permissions, --open-or-create, and an exclusive collision", arguments: named)
    func createOptions(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "cli").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        #expect(try Self.shm("create", address, "--size", "100", "--permissions", "644").status == 0)
        let collision = try Self.shm("create", address, "--size", "100")
        #expect(collision.status == 1)
        #expect(collision.errors.contains("--open-or-create"))
        #expect(collision.errors.contains("shm remove \(address)"))
        #expect(try Self.shm("create", address, "--size", "100", "--open-or-create").status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(try Self.shm("stat", address, "--json").output))
        #expect((object as? [String: Any])?["permissions"] as? String == "0644")
    }

    /// Runs `script` with bash, `$0` being the `shm` under test and `$1`… `arguments`, under
    /// `ulimit -v kibibytes` unless a sanitizer is loaded (they reserve terabytes of address space).
    static func bash(_ script: String, _ arguments: [String], memoryLimit kibibytes: Int) throws
        -> (status: Int32, output: [UInt8], errors: String)
    {
        let limit = sanitized ? "" : "ulimit -v \(kibibytes); "
        let shm = ChildProcess.productsDirectory + "/shm"
        return try ChildProcess(absolute: "/bin/bash", ["-c", "set -o pipefail; " + limit + script, shm] + arguments).finish()
    }

    static let sanitized = dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil

    @Test("read streams: a reader that stops after 10 bytes ends it quietly, in less memory than one copy")
    func readStreams() throws {
        let address = try TestNames.address(.posix, "cli")
        defer { cleanUp(address) }
        let size = 64 << 20
        _ = try SharedRegions.open(address, size: size, mode: .create)
        // The mapping and 128 MiB more: the hex of a whole copy (128 MiB) cannot fit beside it.
        for arguments in [["--hex"], []] {
            let result = try Self.bash(
                #""$0" read "$@" | head -c 10"#, ["\(address)"] + arguments, memoryLimit: (size >> 10) + (128 << 10))
            #expect(result.status == 0, "\(result.errors)")
            #expect(result.output.count == 10)
            #expect(result.errors.isEmpty, "\(result.errors)")
        }
    }

    @Test("read: chunks of a range that crosses chunk boundaries come out exact, raw and hex")
    func readAcrossChunks() throws {
        let address = try TestNames.address(.posix, "cli")
        defer { cleanUp(address) }
        let region = try SharedRegions.open(address, size: 300_000, mode: .create)
        let pattern = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
        try region.write(pattern, at: 0)
        let raw = try Self.shm("read", "\(address)", "--offset", "3", "--count", "200001")
        #expect(raw.status == 0 && raw.output == Array(pattern[3..<200_004]))
        let all = try Self.shm("read", "\(address)", "--hex")
        #expect(Self.text(all.output) == hex(pattern) + "\n")

        var chunks: [Int] = []
        var copied: [UInt8] = []
        try region.read(at: 5, count: 10, chunkByteCount: 4) { chunks.append($0.count); copied += $0 }
        #expect(chunks == [4, 4, 2] && copied == Array(pattern[5..<15]))
        try region.read(at: 300_000, count: 0) { _ in Issue.record("no chunk in an empty range") }
        let outside = #expect(throws: SharedMemoryError.self) { try region.read(at: 1, count: 300_000) { _ in } }
        #expect(outside?.code == .outOfBounds)
        let empty = #expect(throws: SharedMemoryError.self) { try region.read(chunkByteCount: 0) { _ in } }
        #expect(empty?.code == .invalidArgument)
    }

    @Test("write stops reading one byte past the room: --file /dev/zero and an endless stdin are refused")
    func writeBoundedInput() throws {
        let address = try TestNames.address(.posix, "cli")
        defer { cleanUp(address) }
        _ = try SharedRegions.open(address, size: 4096, mode: .create)
        let scripts = [#""$0" write "$1" --file /dev/zero"#, #"yes | "$0" write "$1" --offset 96; exit ${PIPESTATUS[1]}"#]
        for script in scripts {
            let result = try Self.bash(script, ["\(address)"], memoryLimit: 512 << 10)
            #expect(result.status == 1, "\(result.errors)")
            #expect(result.errors.contains("reading stopped after"), "\(result.errors)")
            #expect(result.errors.contains("hint: write at most"), "\(result.errors)")
            #expect(!result.errors.contains("Fatal error"))
        }
        #expect(Self.text(try Self.shm("read", "\(address)", "--count", "4", "--hex").output) == "00000000\n")
        let exact = try Self.shm("write", "\(address)", "--offset", "4094", input: [1, 2])
        #expect(exact.status == 0, "\(exact.errors)")
    }

    @Test("create --open-or-create says whether it created; --json says it too", arguments: named)
    func createSaysWhatItDid(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "cli").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        let first = try Self.shm("create", address, "--size", "100", "--open-or-create")
        #expect(Self.text(first.output) == "\(address) created\n", "\(first.errors)")
        let second = try Self.shm("create", address, "--size", "100", "--open-or-create")
        #expect(Self.text(second.output) == "\(address) opened\n")
        let json = try Self.shm("create", address, "--size", "100", "--open-or-create", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output)) as? [String: Any])
        #expect(object["created"] as? Bool == false)
        #expect(object["address"] as? String == address && object["size"] as? Int == 100)
        cleanUp(try RegionAddress(parsing: address))
        let fresh = try Self.shm("create", address, "--size", "100", "--json")
        let created = try #require(try JSONSerialization.jsonObject(with: Data(fresh.output)) as? [String: Any])
        #expect(created["created"] as? Bool == true && created["permissions"] as? String == "0600")
    }

    @Test("remove of something absent says there is nothing to remove", arguments: named)
    func removeAbsent(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "cli").description
        let result = try Self.shm("remove", address)
        #expect(result.status == 1)
        #expect(result.errors.contains("nothing to remove"), "\(result.errors)")
        #expect(!result.errors.contains("create it first"), "\(result.errors)")
        let semaphores = try Self.shm("sem", "remove", "sysv:0x5e3a0bad")
        #expect(semaphores.status == 1 && semaphores.errors.contains("nothing to remove"), "\(semaphores.errors)")
    }

    @Test(
        "help: --permissions' default is 0600, and each paragraph is wrapped once",
        arguments: [["--help"], ["help", "compare"], ["create", "--help"]])
    func help(arguments: [String]) throws {
        let text = Self.text(try ChildProcess("shm", arguments).finish().output)
        if arguments.contains("create") {
            #expect(text.contains("(default: 0600)") && !text.contains("Mode(permissions"), "\(text)")
        }
        // Greedy wrapping to 79 columns: a line ends early only where its paragraph does.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.hasPrefix("USAGE:") }
        for (line, next) in zip(lines, lines.dropFirst()) where !line.isEmpty && !next.isEmpty {
            let word = next.split(separator: " ").first ?? ""
            #expect(line.count + 1 + word.count > 79, "'\(line)' had room for '\(word)'")
        }
    }

    @Test("the hidden _compare-peer verb refuses negative or bad counts with a usage error, not a trap")
    func comparePeerArguments() throws {
        let bad = [
            ["handover", "posix:/smtest-none", "-5", "0"], ["ring-consume", "posix:/smtest-none", "5", "-1", "0"],
            ["round-trip", "spin", "posix:/smtest-none", "x", "0"], ["handover"],
        ]
        for arguments in bad {
            let result = try ChildProcess("shm", ["_compare-peer"] + arguments).finish()
            #expect(result.status == 64, "\(arguments): \(result.errors)")
            #expect(result.errors.contains("shm _compare-peer:") && !result.errors.contains("Fatal error"))
        }
    }

    /// Swift's `CommandLine.arguments` would turn the byte 0xff into U+FFFD, and `shm` would
    /// create `/smtest-…\u{FFFD}`, which a C program opening the original bytes never finds.
    @Test("an argument that is not UTF-8 is a usage error naming it, and nothing is made")
    func nonUTF8Argument() throws {
        let name = TestNames.unique("bytes")
        let result = try Self.bash(#""$0" create "posix:/$1"$'\xff' --size 4096"#, [name], memoryLimit: 1 << 20)
        #expect(result.status == 64, "\(result.errors)")
        #expect(result.errors.contains("argument 2 (\"posix:/\(name)\\xff\") is not valid UTF-8"), "\(result.errors)")
        let made = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.hasPrefix(name) }
        #expect(made.isEmpty, "\(made)")
    }

    @Test("remove --stale with a POSIX or file address that holds no service is an error, and removes nothing")
    func staleOnlySystemV() throws {
        for address in [try TestNames.address(.posix, "cli"), try TestNames.address(.file, "cli")] {
            defer { cleanUp(address) }
            #expect(try Self.shm("create", "\(address)", "--size", "4096").status == 0)
            let result = try Self.shm("remove", "--stale", "\(address)")
            #expect(result.status == 1, "\(result.errors)")
            #expect(result.errors.contains("holds no publish-subscribe or event service"), "\(result.errors)")
            #expect(result.errors.contains("shm remove \(address)"), "\(result.errors)")
            #expect(try SharedRegions.status(of: address).byteCount == 4096)
        }
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
            ["create", "posix:/smtest-cli-bad", "--size", "1", "--permissions", "999"], ["create", "memfd:x", "--size", "1"],
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
        #expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: .posix(name: "/smtest-cli-bad")) }
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
