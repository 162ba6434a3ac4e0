import Foundation
import SharedMemory
import Testing

/// `shm service create|stat`, `shm publish` and `shm subscribe`, run as the real tool.
@Suite("Publish-subscribe on the command line")
struct PublishSubscribeCommandLineTests {
    static func shm(_ arguments: String..., input: [UInt8] = []) throws -> (status: Int32, output: [UInt8], errors: String) {
        let process = try ChildProcess("shm", arguments)
        if !input.isEmpty { try process.write(input) }
        return try process.finish()
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("create, publish lines, subscribe from the history, stat", arguments: CommandLineTests.named)
    func verbs(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "cli-service").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        let created = try Self.shm("service", "create", address, "--payload-size", "64", "--history", "3")
        #expect(created.status == 0 && Self.text(created.output) == address + "\n", "\(created.errors)")
        let again = try Self.shm("service", "create", address, "--payload-size", "64", "--history", "3")
        #expect(again.status == 1 && again.errors.contains("exists already"), "\(again.errors)")
        let mismatch = try Self.shm("service", "create", address, "--payload-size", "128", "--open-or-create")
        #expect(mismatch.status == 1 && mismatch.errors.contains("payload 64 B"), "\(mismatch.errors)")

        let published = try Self.shm("publish", address, input: Array("first\nsecond\nthird\n".utf8))
        #expect(published.status == 0, "\(published.errors)")
        let received = try Self.shm("subscribe", address, "--count", "3", "--timeout", "20")
        #expect(received.status == 0 && Self.text(received.output) == "first\nsecond\nthird\n", "\(received.errors)")

        #expect(try Self.shm("publish", address, "--hex", "00ff10").status == 0)
        let hex = try Self.shm("subscribe", address, "--count", "1", "--hex", "--timeout", "20")
        #expect(Self.text(hex.output) == "7365636f6e64\n", "the oldest of the history: \(hex)")

        let stat = try Self.shm("service", "stat", address, "--json")
        #expect(stat.status == 0, "\(stat.errors)")
        let object = try JSONSerialization.jsonObject(with: Data(stat.output)) as? [String: Any]
        #expect(object?["payload_size"] as? Int == 64 && object?["history"] as? Int == 3, "\(Self.text(stat.output))")
        #expect(object?["overflow"] as? String == "block" && object?["backend"] as? String == backend.rawValue)
        #expect((object?["subscribers"] as? [Any])?.isEmpty == true)
        #expect(object?["free_chunks"] as? Int == (object?["chunks"] as? Int).map { $0 - 3 })
        #expect(try Self.shm("service", "stat", address).status == 0)
    }

    @Test("subscribe exits 3 at its timeout")
    func subscribeTimeout() throws {
        let address = try TestNames.address(.posix, "cli-service").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        #expect(try Self.shm("service", "create", address, "--payload-size", "8", "--overflow", "discard-oldest").status == 0)
        let result = try Self.shm("subscribe", address, "--count", "1", "--timeout", "0.1")
        #expect(result.status == 3 && result.errors.contains("timed out"), "\(result)")
    }

    @Test("bad arguments are refused with a reason")
    func badArguments() throws {
        let address = try TestNames.address(.posix, "cli-service").description
        defer { cleanUp(try! RegionAddress(parsing: address)) }
        let noPayload = try Self.shm("service", "create", address, "--payload-size", "0")
        #expect(noPayload.status != 0 && noPayload.errors.contains("payloadByteCount"), "\(noPayload.errors)")
        let badPolicy = try Self.shm("service", "create", address, "--payload-size", "8", "--overflow", "drop")
        #expect(badPolicy.status != 0, "\(badPolicy.errors)")
        let missing = try Self.shm("subscribe", address, "--timeout", "1")
        #expect(missing.status == 1, "\(missing.errors)")
        #expect(try Self.shm("service", "create", address, "--payload-size", "4").status == 0)
        let tooLong = try Self.shm("publish", address, "--hex", "0011223344")
        #expect(tooLong.status == 1 && tooLong.errors.contains("does not fit"), "\(tooLong.errors)")
    }
}
