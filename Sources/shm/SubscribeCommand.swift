import ArgumentParser
import SharedMemory

struct SubscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Receive samples from a publish-subscribe service: one per line on standard output.",
        discussion: """
            Each sample is printed as its bytes and a newline, or with --hex as lowercase hex digits and \
            a newline. The subscriber receives what is sent after it attaches, and the service's history.

            Exit status: 0 after --count samples, 1 error, 3 at --timeout.
            """)

    static let timedOutStatus: Int32 = 3

    @Argument(help: "The service's address.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "Exit after this many samples.")
    var count: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Exit with status 3 once this many seconds pass (over all samples).", valueName: "seconds"))
    var timeout: Double?

    @Flag(help: "Print each sample as lowercase hex digits.")
    var hex = false

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count takes a number from 0 up") }
        if let timeout, !(timeout.isFinite && (0...1e9).contains(timeout)) {
            throw ValidationError("--timeout takes seconds from 0 to 1000000000")
        }
    }

    func run() throws {
        try reportingErrors {
            let service = try PublishSubscribeService(opening: address, options: trust.regionOptions)
            let subscriber = try Subscriber(service: service)
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + .seconds($0) }
            var received = 0
            while count.map({ received < $0 }) ?? true {
                let remaining = deadline.map { clock.now.duration(to: $0) }
                guard let bytes = try subscriber.receiveBytes(timeout: remaining.map { max($0, .zero) }) else {
                    Output.error("shm: \(address): timed out after \(timeout ?? 0) seconds, \(received) samples received")
                    throw ExitCode(Self.timedOutStatus)
                }
                if hex {
                    Output.line(bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
                } else {
                    Output.bytes(bytes + [0x0A])
                }
                received += 1
            }
        }
    }
}
