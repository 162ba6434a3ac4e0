import ArgumentParser
import SharedMemory

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a region and print its address (sysv:private prints sysv:id=N).",
        discussion: """
            With --open-or-create the address is followed by "created" or "opened", so a script can \
            tell which happened. --json prints one object: the keys of `shm stat --json` and "created".
            """)

    @Argument(help: "The region's address, such as posix:/orders or sysv:0x366378.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "Size in bytes; K, M, G suffixes (powers of 1024) are accepted.")
    var size: ByteCount

    @Option(help: "Permission bits in octal, as chmod takes them.")
    var permissions: Permissions = Permissions(argument: "600")!

    @Flag(help: "Open the region if it exists instead of failing; print whether it was created or opened.")
    var openOrCreate = false

    @Flag(help: "Print one JSON object: the region's status and whether it was created.")
    var json = false

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
            let region = try SharedRegions.open(
                address, size: size.value, mode: openOrCreate ? .openOrCreate : .create, permissions: permissions.permissions,
                options: trust.regionOptions)
            if json {
                let report = CreateReport(status: try region.status(), created: region.created)
                Output.line(StatusReport.json(report, empty: "{}"))
            } else if openOrCreate {
                Output.line("\(region.address) \(region.created ? "created" : "opened")")
            } else {
                Output.line(region.address.description)
            }
        }
    }
}

/// `shm create --json`: the keys of `shm stat --json`, plus `created`.
struct CreateReport: Encodable {
    let status: SharedRegionStatus
    let created: Bool

    private enum Key: String, CodingKey {
        case created
    }

    func encode(to encoder: any Encoder) throws {
        try StatusReport(status).encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(created, forKey: .created)
    }
}
