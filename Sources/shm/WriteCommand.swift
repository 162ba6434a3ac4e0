import ArgumentParser
import SharedMemory
import SystemPackage

struct WriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write bytes into an existing region: from --hex, from --file, or from stdin.")

    @Argument(help: "The region's address.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "Where to start writing, in bytes from the start of the region.")
    var offset: Int = 0

    @Option(help: "The bytes, as hex digits (\"deadbeef\").")
    var hex: String?

    @Option(help: "A file whose contents to write.")
    var file: String?

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if hex != nil && file != nil { throw ValidationError("give --hex or --file, not both") }
        if let hex, Hex.bytes(hex) == nil {
            throw ValidationError("--hex takes an even number of hex digits, such as deadbeef")
        }
        if offset < 0 { throw ValidationError("--offset must not be negative") }
    }

    func run() throws {
        let bytes: [UInt8]
        if let hex {
            bytes = Hex.bytes(hex) ?? []
        } else if let file {
            do {
                let descriptor = try FileDescriptor.open(file, .readOnly, options: .closeOnExec)
                defer { try? descriptor.close() }
                bytes = try Self.readAll(descriptor)
            } catch let error as Errno {
                Output.error("shm: cannot read \(file): \(error)")
                throw ExitCode.failure
            }
        } else {
            bytes = try Output.readStandardInput()
        }
        try reportingErrors {
            // Check the bounds before mapping, so a write that cannot fit changes nothing.
            let region = try SharedMemory.open(address, mode: .open, options: trust.regionOptions)
            try region.write(bytes, at: offset)
        }
    }

    private static func readAll(_ descriptor: FileDescriptor) throws -> [UInt8] {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
            if count == 0 { return all }
            all += chunk[..<count]
        }
    }
}
