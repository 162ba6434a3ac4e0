// The second process of the test suite. It runs a small script given on its command line,
// one step after another, using only the library's public API. Each feature's steps live in
// their own file as a `[String: Step]` table, merged in `Peer.steps`. Region steps, on one
// region at a time:
//
//   open ADDRESS [ro]        open an existing region (read-only with `ro`)
//   create ADDRESS SIZE      create a region; prints nothing
//   receive-memfd FD         receive a memfd over the Unix socket at descriptor FD
//   expect OFFSET HEX        exit 1 unless the region holds HEX at OFFSET
//   write OFFSET HEX         write HEX at OFFSET
//   say TEXT                 print TEXT and a newline to stdout ("address" prints the region's)
//   wait                     read one line from stdin: the test's go-ahead
//   close                    drop the region (unmap; System V detaches)
//   remove                   remove the region's name
//
// Exit status: 0 when every step passed, 1 when an `expect` failed, 2 on any error.
#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage

/// One step of a peer script: reads its arguments from the peer and acts.
typealias Step = @Sendable (inout Peer) throws -> Void

@main
struct Peer {
    var arguments: ArraySlice<String>
    var region: (any SharedRegion)?

    /// Every step the peer knows, by name.
    static let steps: [String: Step] = [regionSteps, coordinationSteps, channelSteps, semaphoreSteps,
        safetySteps, truncationSteps, malformedSteps, heapSteps, heapNameSteps, heapContainerSteps, publishSubscribeSteps,
        eventSteps, requestResponseSteps,
        waitSetSteps, echoSteps]
        .reduce(into: [:]) { all, table in all.merge(table) { $1 } }

    static func main() {
        var peer = Peer(arguments: CommandLine.arguments.dropFirst())
        do {
            while let name = peer.arguments.popFirst() {
                guard let step = steps[name] else { throw PeerError("unknown step \(name)") }
                try step(&peer)
            }
        } catch {
            fail(2, "\(error)")
        }
    }

    mutating func next(_ what: String) throws -> String {
        guard let argument = arguments.popFirst() else { throw PeerError("missing \(what)") }
        return argument
    }

    mutating func nextNumber(_ what: String) throws -> Int {
        let text = try next(what)
        guard let value = Int(text) else { throw PeerError("\(what) is not a number: \(text)") }
        return value
    }

    func current() throws -> any SharedRegion {
        guard let region else { throw PeerError("no region open") }
        return region
    }

    static func bytes(fromHex hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { throw PeerError("odd hex string \(hex)") }
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                throw PeerError("bad hex string \(hex)")
            }
            return byte
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Unbuffered, so the test sees the line at once.
    static func say(_ text: String) {
        _ = try? FileDescriptor.standardOutput.writeAll((text + "\n").utf8)
    }

    static func fail(_ status: Int32, _ message: String) -> Never {
        _ = try? FileDescriptor.standardError.writeAll("SharedMemoryTestPeer: \(message)\n".utf8)
        exit(status)
    }
}

struct PeerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
