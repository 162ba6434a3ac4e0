import ArgumentParser
import SharedMemory
import SystemPackage

struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Print a region's bytes: raw to stdout, or as hex with --hex.")

    @Argument(help: "The region's address.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "Where to start reading.")
    var offset: Int = 0

    @Option(help: "How many bytes to read (default: to the end of the region).")
    var count: Int?

    @Flag(help: "Print lowercase hex digits and a newline instead of raw bytes.")
    var hex = false

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if offset < 0 { throw ValidationError("--offset must not be negative") }
        if let count, count < 0 { throw ValidationError("--count must not be negative") }
    }

    /// Bytes copied out of the region per `write(2)`.
    static let chunkByteCount = 1 << 16

    func run() throws {
        do {
            try reportingErrors {
                let region = try SharedRegions.open(address, mode: .open, access: .readOnly, options: trust.regionOptions)
                let digits = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * Self.chunkByteCount, alignment: 1)
                defer { digits.deallocate() }
                try region.read(at: offset, count: count, chunkByteCount: Self.chunkByteCount) { chunk in
                    guard hex else { return try Output.stream(chunk) }
                    Hex.encode(chunk, into: digits)
                    try Output.stream(UnsafeRawBufferPointer(rebasing: digits[..<(2 * chunk.count)]))
                }
                if hex { try Self.newline.withUnsafeBytes { try Output.stream($0) } }
            }
        } catch is Output.ReaderGone {
            return  // the reader has what it wanted (`shm read ... | head -c 10`)
        } catch let error as Errno {
            Output.error("shm: cannot write to standard output: \(error)")
            throw ExitCode.failure
        }
    }

    private static let newline: [UInt8] = [0x0A]
}
