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

    static let timedOutStatus: Int32 = 3

    @Argument(help: "The event service's address.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "Exit after this many ids.")
    var count: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Exit with status 3 once this many seconds pass (over all ids).", valueName: "seconds"))
    var timeout: Double?

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count takes a number from 0 up") }
        if let timeout, !(timeout.isFinite && (0...1e9).contains(timeout)) {
            throw ValidationError("--timeout takes seconds from 0 to 1000000000")
        }
    }

    func run() throws {
        try reportingErrors {
            let service = try EventService(opening: address, options: trust.regionOptions)
            let listener = try Listener(service: service)
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + .seconds($0) }
            var printed = 0
            var more: Bool { count.map { printed < $0 } ?? true }
            while more {
                let fired = try listener.wait(timeout: deadline.map { max(clock.now.duration(to: $0), .zero) })
                for id in fired.eventIDs where more {
                    Output.line("\(id)")
                    printed += 1
                }
                if more, let deadline, clock.now >= deadline {
                    Output.error("shm: \(address): timed out after \(timeout ?? 0) seconds, \(printed) ids received")
                    throw ExitCode(Self.timedOutStatus)
                }
            }
        }
    }
}
