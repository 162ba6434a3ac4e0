import ArgumentParser
import SharedMemory

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

    func run() throws {
        try reportingErrors {
            let region = try SharedMemory.open(address, mode: .open, access: .readOnly, options: trust.regionOptions)
            let bytes = try region.read(at: offset, count: count)
            if hex {
                Output.line(Hex.string(bytes))
            } else {
                Output.bytes(bytes)
            }
        }
    }
}
