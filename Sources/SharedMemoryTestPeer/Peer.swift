// The second process of the test suite. It runs a small script given on its command line,
// one step after another, on one region at a time, using only the library's public API:
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

@main
struct Peer {
    var arguments: ArraySlice<String>
    var region: (any SharedRegion)?

    static func main() {
        var peer = Peer(arguments: CommandLine.arguments.dropFirst())
        do {
            try peer.run()
        } catch {
            fail(2, "\(error)")
        }
    }

    mutating func run() throws {
        while let step = arguments.popFirst() {
            switch step {
            case "open":
                let address = try next("address")
                let access: SharedRegionAccess = arguments.first == "ro" ? .readOnly : .readWrite
                if access == .readOnly { arguments.removeFirst() }
                region = try SharedMemory.open(address, mode: .open, access: access)
            case "create":
                let address = try next("address")
                region = try SharedMemory.open(address, size: try number(next("size")), mode: .create)
            case "receive-memfd":
                let socket = FileDescriptor(rawValue: Int32(try number(next("descriptor"))))
                region = try MemfdRegion.receive(from: socket)
            case "expect":
                let offset = try number(next("offset"))
                let expected = try Self.bytes(fromHex: next("hex"))
                let found = try current().read(at: offset, count: expected.count)
                guard found == expected else {
                    Self.fail(1, "expected \(Self.hex(expected)) at \(offset) of \(try current().address), found \(Self.hex(found))")
                }
            case "write":
                let offset = try number(next("offset"))
                try current().write(Self.bytes(fromHex: next("hex")), at: offset)
            case "say":
                let text = try next("text")
                Self.say(text == "address" ? try current().address.description : text)
            case "wait":
                _ = readLine()
            case "close":
                region = nil
            case "remove":
                try current().remove()
            default:
                throw PeerError("unknown step \(step)")
            }
        }
    }

    mutating func next(_ what: String) throws -> String {
        guard let argument = arguments.popFirst() else { throw PeerError("missing \(what)") }
        return argument
    }

    func number(_ text: String) throws -> Int {
        guard let value = Int(text) else { throw PeerError("not a number: \(text)") }
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
