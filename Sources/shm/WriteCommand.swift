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
        try reportingErrors {
            let region = try SharedRegions.open(address, mode: .open, options: trust.regionOptions)
            // Input is read only up to one byte past the room there is, so an endless one
            // (--file /dev/zero) is refused after that byte, not read into memory until it fails.
            let room = max(0, region.byteCount - offset)
            let bytes: [UInt8]
            if let hex {
                bytes = Hex.bytes(hex) ?? []
            } else if let file {
                bytes = try Self.read(file, atMost: room + 1)
            } else {
                bytes = try Self.read(.standardInput, named: "standard input", atMost: room + 1)
            }
            if bytes.count > room && hex == nil {
                throw SharedMemoryError(
                    code: .outOfBounds, operation: "write", address: region.address.description,
                    message: "the input holds more than the \(room) bytes from offset \(offset) to the end of the "
                        + "region's \(region.byteCount) bytes (reading stopped after \(room + 1))",
                    hint: "write at most \(room) bytes at offset \(offset), or create a larger region")
            }
            // Checked against the bounds before copying, so a write that cannot fit changes nothing.
            try region.write(bytes, at: offset)
        }
    }

    private static func read(_ path: String, atMost limit: Int) throws -> [UInt8] {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: .closeOnExec)
        } catch {
            Output.error("shm: cannot read \(path): \(error)")
            throw ExitCode.failure
        }
        defer { try? descriptor.close() }
        return try read(descriptor, named: path, atMost: limit)
    }

    /// Up to `limit` bytes: all of the input, or the first `limit` of a longer one.
    private static func read(_ descriptor: FileDescriptor, named name: String, atMost limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        do {
            while bytes.count < limit {
                let wanted = min(chunk.count, limit - bytes.count)
                // Grow by doubling, but never past the limit: a region-sized input costs one region.
                if bytes.count + wanted > bytes.capacity {
                    bytes.reserveCapacity(max(bytes.count + wanted, min(2 * bytes.capacity, limit)))
                }
                let count = try chunk.withUnsafeMutableBytes {
                    try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<wanted]))
                }
                if count == 0 { break }
                bytes += chunk[..<count]
            }
        } catch let error as Errno {
            Output.error("shm: cannot read \(name): \(error)")
            throw ExitCode.failure
        }
        return bytes
    }
}
