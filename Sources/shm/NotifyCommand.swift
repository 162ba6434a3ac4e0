import ArgumentParser
import SharedMemory

struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Signal an event id to every listener of an event service (futex wake for sleeping ones).",
        discussion: """
            Attaches a notifier, signals the id (repeat --event to signal several), detaches. Listeners \
            attached at that moment learn the id once, however often it fired before they looked.
            """)

    @Argument(help: "The event service's address.", transform: parseAddress)
    var address: RegionAddress

    @Option(name: .customLong("event"), parsing: .unconditionalSingleValue, help: ArgumentHelp("The event id (repeatable).", valueName: "id"))
    var eventIDs: [Int] = []

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if eventIDs.isEmpty { throw ValidationError("give an event id: --event ID") }
    }

    func run() throws {
        try reportingErrors {
            let service = try EventService(opening: address, options: trust.regionOptions)
            let notifier = try Notifier(service: service)
            for id in eventIDs { try notifier.notify(id) }
        }
    }
}
