import ArgumentParser
import SharedMemory

struct ListenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Wait for events of an event service and print the ids that fire, one per line.",
        discussion: """
            Attaches a listener and prints each id fired after that, in increasing order within one \
            wake-up; an id fired several times before the listener looked is printed once. It sleeps \
            in futex_wait while nothing fires.

            Exit status: 0 after --count ids, 1 error, 3 at --timeout.
            """)

    @Argument(help: "The event service's address.", transform: parseAddress)
    var address: RegionAddress

    @OptionGroup var limits: ReceiveLimits

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try reportingErrors {
            let service = try EventService(opening: address, options: trust.regionOptions)
            let listener = try Listener(service: service)
            let deadline = limits.deadline()
            var printed = 0
            while limits.wantsMore(after: printed) {
                let fired = try listener.wait(timeout: limits.remaining(deadline))
                for id in fired.eventIDs where limits.wantsMore(after: printed) {
                    Output.line("\(id)")
                    printed += 1
                }
                if limits.wantsMore(after: printed), let deadline, ContinuousClock.now >= deadline {
                    throw limits.timedOut(address, received: printed, "ids")
                }
            }
        }
    }
}
