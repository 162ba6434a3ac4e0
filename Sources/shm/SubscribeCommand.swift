import ArgumentParser
import SharedMemory

struct SubscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Receive samples from a publish-subscribe service: one per line on standard output.",
        discussion: """
            Each sample is printed as its bytes and a newline, or with --hex as lowercase hex digits and \
            a newline. The subscriber receives what is sent after it attaches, and the service's history.

            Exit status: 0 after --count samples, 1 error (also when no publisher is left and one died: \
            `.peerDied` once all it sent was printed), 3 at --timeout.
            """)

    @Argument(help: "The service's address.", transform: parseAddress)
    var address: RegionAddress

    @OptionGroup var limits: ReceiveLimits

    @Flag(help: "Print each sample as lowercase hex digits.")
    var hex = false

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try reportingErrors {
            let service = try PublishSubscribeService(opening: address, options: trust.regionOptions)
            let subscriber = try Subscriber(service: service)
            let deadline = limits.deadline()
            var received = 0
            while limits.wantsMore(after: received) {
                guard let bytes = try subscriber.receiveBytes(timeout: limits.remaining(deadline)) else {
                    throw limits.timedOut(address, received: received, "samples")
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
