#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import Synchronization
import Testing

/// A region is a trust boundary: another process with write access can put any bytes into every
/// structure the library keeps there. One peer writes hand-picked and random bytes over a
/// structure, another uses it as a program would: thousands of cases, no crash, no endless wait,
/// and every failure a typed `SharedMemoryError` with a hint. The cases are a function of the
/// seed (printed with any failure), so a failing case can be made again.
@Suite("Malformed regions")
struct MalformedRegionTests {
    /// One structure under test: where it lives, its valid bytes, and what using it may answer.
    struct Structure: CustomTestStringConvertible, Sendable {
        let kind: String
        let seed: Int
        /// The codes a use may fail with; anything else is a finding.
        let expected: Set<String>
        /// Outcomes that must occur, so that the cases reach the checks and the success path.
        let mustSee: [String]
        /// The widths of the hand-picked fields (all when empty): a larger structure gets fewer.
        var widths = ""
        var testDescription: String { kind }
    }

    static let structures = [
        Structure(
            kind: "once", seed: 0x0_4CE, expected: ["layoutMismatch", "timedOut", "corrupted"],
            mustSee: ["opened", "initialized", "error:layoutMismatch"]),
        Structure(
            kind: "views", seed: 0x71E35, expected: ["outOfBounds", "misaligned"],
            mustSee: ["followed", "copied", "error:outOfBounds", "error:misaligned"]),
        Structure(
            kind: "mutex", seed: 0x10C4, expected: ["layoutMismatch", "corrupted", "notRecoverable", "deadlock", "permissionDenied", "invalidArgument"],
            mustSee: ["acquired", "error:layoutMismatch", "error:corrupted"]),
        Structure(
            kind: "ring", seed: 0x5B5C, expected: ["layoutMismatch", "corrupted", "invalidSize"],
            mustSee: ["sent", "received", "peeked", "error:layoutMismatch", "error:corrupted"], widths: "8,4"),
    ]

    static let randomCases = 600
    static let stopOffset = 2048

    /// A fresh region holding a valid instance of the structure at offset 0; its valid bytes.
    static func prepare(_ kind: String) throws -> (address: RegionAddress, region: any SharedRegion, template: [UInt8]) {
        let address = try TestNames.address(.posix, "malformed")
        let region = try SharedRegions.open(address, size: 4096, mode: .create)
        switch kind {
        case "once":
            let layout = try RegionLayout(name: "malformed", version: 1, payloadByteCount: 192)
            _ = try SharedRegions.openInitialized(address, layout: layout) { _ in }
            return (address, region, try region.read(at: 0, count: RegionLayout.headerByteCount))
        case "views":
            // An offset to follow, a step, a count and a start: 32 bytes, as a C struct would lay them out.
            try region.store(RegionOffset<UInt64>(byteOffset: 64), at: 0)
            try region.store(Int32(1), at: 8)
            try region.store(Int64(4), at: 16)
            try region.store(Int64(128), at: 24)
            return (address, region, try region.read(at: 0, count: 32))
        case "ring":
            // The header lines, positions and sleep flags, and the first record: one 40-byte message.
            try SPSCRing.initialize(in: region, capacity: 1024)
            var producer = try SPSCRing.Producer(in: region)
            #expect(try [UInt8](repeating: 0x5A, count: 40).withUnsafeBytes { try producer.trySend($0) })
            return (address, region, try region.read(at: 0, count: SPSCRing.byteCount(capacity: 64)))
        default:
            _ = try ProcessMutex.initialize(in: region, at: 0)
            return (address, region, try region.read(at: 0, count: ProcessMutex.byteCount))
        }
    }

    @Test("a peer writes each case over a structure, another uses it in step: thousands of cases, every failure typed",
          arguments: structures)
    func caseByCase(structure: Structure) throws {
        let (address, _, template) = try Self.prepare(structure.kind)
        defer { cleanUp(address) }
        let corruptor = try ChildProcess(
            "SharedMemoryTestPeer", ["open", "\(address)", "corrupt", "0", "\(structure.seed)", "\(Self.randomCases)", hex(template)]
                + (structure.widths.isEmpty ? [] : [structure.widths]))
        let user = try ChildProcess.peer("use", structure.kind, "0", "\(address)")
        let total = try #require(try corruptor.readLine().flatMap { $0.hasPrefix("cases ") ? Int($0.dropFirst(6)) : nil })
        var outcomes: [String: Int] = [:]
        var findings: [String] = []
        for index in 0..<total {
            let written = try #require(try corruptor.readLine(), "seed \(structure.seed): the writer stopped before case \(index)")
            try user.send("go")
            guard let answer = try user.readLine() else {
                let status = try user.finish()
                findings.append("seed \(structure.seed) \(written): the user died (status \(status.status)): \(status.errors)")
                break
            }
            for outcome in answer.split(separator: " ").map(String.init) {
                outcomes[outcome, default: 0] += 1
                if !Self.allowed(outcome, structure) {
                    findings.append("seed \(structure.seed) \(written): \(outcome)")
                }
            }
            try corruptor.send("next")
        }
        try corruptor.expectSuccess()
        try user.expectSuccess()
        #expect(total >= 1_200 + Self.randomCases)  // every hand-picked case of a 32-byte structure, and more
        #expect(findings.isEmpty, "\(findings.count) findings, the first: \(findings.prefix(5))")
        for outcome in structure.mustSee {
            #expect(outcomes[outcome, default: 0] > 0, "seed \(structure.seed): no \(outcome) in \(outcomes)")
        }
    }

    @Test("a peer writes cases over a structure while another uses it without waiting: no crash, every failure typed",
          arguments: structures)
    func whileInUse(structure: Structure) throws {
        let (address, region, template) = try Self.prepare(structure.kind)
        defer { cleanUp(address) }
        let scribbler = try ChildProcess(
            "SharedMemoryTestPeer", ["open", "\(address)", "scribble", "0", "\(structure.seed)", "\(Self.stopOffset)", hex(template)]
                + (structure.widths.isEmpty ? [] : [structure.widths]))
        let user = try ChildProcess.peer("use-rounds", structure.kind, "0", "\(address)", "1500")
        let line = try #require(try user.readLine(), "seed \(structure.seed): the user said nothing")
        let used = try user.finish()
        try SharedAtomic<Int>(in: region, at: Self.stopOffset).withAtomic { $0.store(1, ordering: .releasing) }
        #expect(try scribbler.readLine()?.hasPrefix("scribbled ") == true)
        try scribbler.expectSuccess()
        #expect(used.status == 0, "seed \(structure.seed): \(used.errors)")
        #expect(line.hasPrefix("outcomes "))
        #expect(!line.contains("untyped"), "seed \(structure.seed): \(line)")
        for outcome in line.split(separator: " ").dropFirst() {
            let name = String(outcome.split(separator: "=")[0])
            #expect(Self.allowed(name, structure), "seed \(structure.seed): \(name) in \(line)")
        }
    }

    /// A success, or a typed error this structure may answer with.
    static func allowed(_ outcome: String, _ structure: Structure) -> Bool {
        if outcome.hasPrefix("untyped") { return false }
        guard outcome.hasPrefix("error:") else { return true }
        return structure.expected.contains(String(outcome.dropFirst(6)))
    }
}
