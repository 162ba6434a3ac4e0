import ArgumentParser
import SharedMemory

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Send samples to a publish-subscribe service's subscribers.",
        discussion: """
            With --hex, one sample of those bytes; without, one sample per line of standard input (the \
            line without its newline). Only subscribers attached when a sample is sent receive it (and \
            later ones its history, if the service keeps one).

            Exit status: 0 sent, 1 error, 3 timed out waiting for a subscriber's room (--timeout).
            """)

    @Argument(help: "The service's address.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "One sample: the bytes as hex digits (\"deadbeef\").")
    var hex: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Give up after waiting this many seconds for room, with status 3.", valueName: "seconds"))
    var timeout: Double?

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if let hex, Hex.bytes(hex) == nil {
            throw ValidationError("--hex takes an even number of hex digits, such as deadbeef")
        }
        if let timeout, !(timeout.isFinite && (0...1e9).contains(timeout)) {
            throw ValidationError("--timeout takes seconds from 0 to 1000000000")
        }
    }

    func run() throws {
        try reportingErrors {
            let service = try PublishSubscribeService(opening: address, options: trust.regionOptions)
            let publisher = try Publisher(service: service)
            func send(_ bytes: [UInt8]) throws {
                guard try publisher.send(bytes: bytes, timeout: timeout.map { .seconds($0) }) else {
                    Output.error("shm: \(address): timed out after \(timeout ?? 0) seconds waiting for a subscriber's room")
                    throw ExitCode.timedOut
                }
            }
            if let hex {
                try send(Hex.bytes(hex) ?? [])
            } else {
                while let line = readLine(strippingNewline: true) { try send(Array(line.utf8)) }
            }
        }
    }
}
