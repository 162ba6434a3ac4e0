import ArgumentParser
import SharedMemory

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a region and print its address (sysv:private prints sysv:id=N).")

    @Argument(help: "The region's address, such as posix:/orders or sysv:0x366378.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "Size in bytes; K, M, G suffixes (powers of 1024) are accepted.")
    var size: ByteCount

    @Option(help: "Permission bits in octal.")
    var mode: Mode = Mode(argument: "600")!

    @Flag(help: "Open the region if it exists instead of failing.")
    var openOrCreate = false

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if case .memfd = address {
            throw ValidationError(
                "a memfd region lives only while a process holds it, so the shm tool cannot leave one behind; "
                    + "create it from your program with MemfdRegion")
        }
    }

    func run() throws {
        try reportingErrors {
            let region = try SharedMemory.open(
                address, size: size.value, mode: openOrCreate ? .openOrCreate : .create, permissions: mode.permissions,
                options: trust.regionOptions)
            Output.line(region.address.description)
        }
    }
}
