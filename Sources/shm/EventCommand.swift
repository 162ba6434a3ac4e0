import ArgumentParser
import SharedMemory

struct EventCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract: "Event services: create. `shm notify` and `shm listen` use them.",
        discussion: """
            An event service is one region (posix:, sysv: or file: address) holding its configuration, \
            the attached notifiers and listeners, and per listener the set of event ids fired since it \
            last looked. Docs/Events.md describes it.
            """,
        subcommands: [EventCreateCommand.self]
    )
}

struct EventCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an event service and print its address.",
        discussion: """
            Every process that opens the service later gets this configuration; opening it with another \
            is an error naming both. With --open-or-create an existing service of the same configuration \
            is fine, and the address is followed by "created" or "opened".
            """)

    @Argument(help: "The service's address, such as posix:/alarms.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "How many notifiers may be attached at once (1 to 256).")
    var notifiers = 4

    @Option(help: "How many listeners may be attached at once (1 to 256).")
    var listeners = 8

    @Option(help: "The largest event id (0 to 4095); ids run from 0 to it.")
    var maxEventID = 63

    @Option(help: "Permission bits in octal, as chmod takes them.")
    var permissions: Permissions = Permissions(argument: "600")!

    @Flag(help: "Open the service if it exists with this configuration instead of failing.")
    var openOrCreate = false

    @OptionGroup var trust: TrustOptions

    var eventConfiguration: EventConfiguration {
        EventConfiguration(maxNotifiers: notifiers, maxListeners: listeners, maxEventID: maxEventID)
    }

    func validate() throws {
        if case .memfd = address {
            throw ValidationError(
                "an event service must be named so that other processes can open it: give a posix:, sysv: or file: address")
        }
        do {
            try eventConfiguration.validate()
        } catch {
            throw ValidationError("\(error.message)\nhint: \(error.hint)")
        }
    }

    func run() throws {
        try reportingErrors {
            let service = try EventService(
                openingOrCreating: address, configuration: eventConfiguration, permissions: permissions.permissions,
                options: trust.regionOptions)
            if openOrCreate {
                Output.line("\(service.address) \(service.createdHere ? "created" : "opened")")
            } else if service.createdHere {
                Output.line(service.address.description)
            } else {
                throw SharedMemoryError(
                    code: .alreadyExists, operation: "shm event create", address: address.description,
                    message: "an event service with this configuration exists already",
                    hint: "use it as it is, pass --open-or-create, or remove it (`shm remove \(address)`)")
            }
        }
    }
}
