#if canImport(Glibc)
import Glibc
#endif
import SeededRandom
import SharedMemory
import SystemPackage
import Testing

/// A generated corpus of malformed input, the same on every run (seeded): the parser and
/// every `shm` verb answer with typed errors, never a crash, and make nothing.
@Suite("Malformed input corpus")
struct MalformedInputTests {
    static let seeds = [
        "posix:/orders", "sysv:0x366378", "sysv:12345", "sysv:ftok:/tmp#1", "sysv:id=32768", "sysv:private",
        "file:/tmp/orders.shm", "memfd:orders",
    ]
    static let alphabet: [String] = [
        ":", "/", "#", "=", "0x", "-", ".", "..", "\0", " ", "\n", "%", "~", "é", "🦊", "ftok:", "id=", "posix:", "sysv:",
        "file:", "memfd:", "0", "9", "f", "x", "4294967296", String(repeating: "a", count: 256),
    ]

    /// Mutates a valid address a few times: insert, delete, replace, truncate, repeat.
    static func corpus(count: Int, seed: UInt64) -> [String] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in
            var text = Array(seeds.randomElement(using: &random)!)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0...text.count, using: &random)
                let piece = Array(alphabet.randomElement(using: &random)!)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: text.insert(contentsOf: piece, at: position)
                case 1 where !text.isEmpty: text.remove(at: min(position, text.count - 1))
                case 2 where !text.isEmpty: text[min(position, text.count - 1)] = piece.first ?? "x"
                case 3: text = Array(text.prefix(position))
                default: text += Array(repeating: piece, count: Int.random(in: 1...6, using: &random)).flatMap { $0 }
                }
            }
            return String(text)
        }
    }

    @Test("12,000 generated addresses: each parses and prints back the same, or is a typed invalidAddress")
    func addressCorpus() throws {
        var refused = 0
        var wrong: [String] = []  // one expectation at the end: 12,000 would dominate the run time
        for text in Self.corpus(count: 12_000, seed: 0xADD2E55) {
            do {
                let address = try RegionAddress(parsing: text)
                if (try? RegionAddress(parsing: address.description)) != address { wrong.append("no round trip: \(text)") }
            } catch {
                if error.code != .invalidAddress || error.hint.isEmpty { wrong.append("\(text.debugDescription): \(error)") }
                refused += 1
            }
            do {
                _ = try SharedRegionBackend(parsing: String(text.prefix { $0 != ":" }) + "!")
                wrong.append("backend accepted: \(text)")
            } catch where error.code != .invalidArgument {
                wrong.append("backend \(text.debugDescription): \(error)")
            } catch {}
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        // Most mutations break the address; the corpus is not mostly valid by accident.
        #expect(refused > 8_000)
    }

    /// Malformed arguments for every verb; `ADDRESS` stands for a fresh, valid, unused address.
    static let badArguments: [[String]] = [
        ["create", "ADDRESS", "--size", "0"], ["create", "ADDRESS", "--size", "-1"], ["create", "ADDRESS", "--size", "1Q"],
        ["create", "ADDRESS", "--size", "99999999999999999999T"], ["create", "ADDRESS", "--size", "1K", "--permissions", "999"],
        ["create", "ADDRESS", "--size", "1K", "--permissions", "8"], ["create", "ADDRESS"], ["create", "ADDRESS", "--size", ""],
        ["create", "ADDRESS", "--size", "1K", "--trust-owner", "-5"],
        ["write", "ADDRESS", "--hex", "zz"], ["write", "ADDRESS", "--hex", "abc"], ["write", "ADDRESS", "--offset", "-3", "--hex", "00"],
        ["write", "ADDRESS", "--hex", "00", "--file", "/nonexistent"], ["write", "ADDRESS", "--hex", "00"],
        ["read", "ADDRESS", "--count", "-1"], ["read", "ADDRESS", "--offset", "x"], ["read", "ADDRESS"],
        ["stat", "ADDRESS"], ["stat"], ["remove"], ["remove", "ADDRESS"], ["remove", "--stale", "--bogus"],
        ["list", "--backend", "memfd"], ["list", "--backend", ""], ["list", "--directory", "rel"], ["list", "--json", "extra"],
        ["compare", "--bogus"], ["frobnicate"], ["--size"], [],
    ]

    @Test("every shm verb fed malformed arguments or addresses: a typed error and an exit status, no crash, nothing made")
    func commandLineCorpus() throws {
        let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }
        var runs: [(arguments: [String], address: RegionAddress?)] = []
        for (index, arguments) in Self.badArguments.enumerated() {
            let address = try TestNames.address(named[index % named.count], "malformed")
            runs.append((arguments.map { $0 == "ADDRESS" ? address.description : $0 }, address))
        }
        // A bounded sample of the generated addresses, each given to every verb that takes one.
        let verbs = [["create", "--size", "4K"], ["write", "--hex", "00"], ["read"], ["stat", "--json"], ["remove"]]
        let malformed = Self.corpus(count: 2_000, seed: 0xC11).filter { text in
            (try? RegionAddress(parsing: text)) == nil && !text.utf8.contains(0) && !text.hasPrefix("-")
        }
        for (index, text) in malformed.prefix(60).enumerated() {
            var arguments = verbs[index % verbs.count]
            arguments.insert(text, at: 1)
            runs.append((arguments, nil))
        }
        #expect(runs.count >= 90)
        for run in runs {
            defer { run.address.map(cleanUp) }
            let result = try ChildProcess("shm", run.arguments).finish()
            // 1: a library error; 64: ArgumentParser's usage error. Anything from 128 up is a signal.
            #expect([1, 64].contains(result.status) || (run.arguments.isEmpty && result.status == 0),
                    "shm \(run.arguments) exited \(result.status): \(result.errors)")
            #expect(!result.errors.isEmpty || run.arguments.isEmpty, "shm \(run.arguments) said nothing")
            if let address = run.address {
                let lookup = #expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) }
                #expect(lookup?.code == .notFound, "shm \(run.arguments) left \(address)")
            }
        }
    }
}
