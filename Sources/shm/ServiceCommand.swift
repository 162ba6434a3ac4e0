import ArgumentParser
import Foundation
import SharedMemory

struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Publish-subscribe services: create, stat. `shm publish` and `shm subscribe` use them.",
        discussion: """
            A service is one region (posix:, sysv: or file: address) holding its configuration, a pool \
            of payload chunks, a queue from each publisher to each subscriber, and the attached ports. \
            Docs/PublishSubscribe.md describes it.
            """,
        subcommands: [ServiceCreateCommand.self, ServiceStatCommand.self]
    )
}

struct ServiceCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a publish-subscribe service and print its address.",
        discussion: """
            Every process that opens the service later gets this configuration; opening it with another \
            is an error naming both. With --open-or-create an existing service of the same configuration \
            is fine, and the address is followed by "created" or "opened".
            """)

    @Argument(help: "The service's address, such as posix:/sensor.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "The largest sample, in bytes; K, M, G suffixes are accepted.")
    var payloadSize: ByteCount

    @Option(help: "The alignment of every payload, a power of two from 1 to 64.")
    var alignment = 8

    @Option(help: "How many publishers may be attached at once.")
    var publishers = 2

    @Option(help: "How many subscribers may be attached at once (publishers + subscribers <= 64).")
    var subscribers = 8

    @Option(help: "Samples queued per publisher and subscriber; also how many a subscriber may hold.")
    var buffer = 16

    @Option(help: "Samples each publisher keeps for subscribers that attach later.")
    var history = 0

    @Option(help: "When a subscriber's queue is full: block (the publisher waits) or discard-oldest.")
    var overflow: OverflowPolicy = .block

    @Option(help: "Permission bits in octal, as chmod takes them.")
    var permissions: Permissions = Permissions(argument: "600")!

    @Flag(help: "Open the service if it exists with this configuration instead of failing.")
    var openOrCreate = false

    @OptionGroup var trust: TrustOptions

    var serviceConfiguration: ServiceConfiguration {
        ServiceConfiguration(
            payloadByteCount: payloadSize.value, payloadAlignment: alignment, maxPublishers: publishers,
            maxSubscribers: subscribers, subscriberBufferCapacity: buffer, historyCapacity: history,
            overflowPolicy: overflow)
    }

    func validate() throws {
        if case .memfd = address {
            throw ValidationError("a service must be named so that other processes can open it: give a posix:, sysv: or file: address")
        }
        do {
            try serviceConfiguration.validate()
        } catch {
            throw ValidationError("\(error.message)\nhint: \(error.hint)")
        }
    }

    func run() throws {
        try reportingErrors {
            let service = try PublishSubscribeService(
                openingOrCreating: address, configuration: serviceConfiguration, permissions: permissions.permissions,
                options: trust.regionOptions)
            if openOrCreate {
                Output.line("\(service.address) \(service.createdHere ? "created" : "opened")")
            } else if service.createdHere {
                Output.line(service.address.description)
            } else {
                throw SharedMemoryError(
                    code: .alreadyExists, operation: "shm service create", address: address.description,
                    message: "a service with this configuration exists already",
                    hint: "use it as it is, pass --open-or-create, or remove it (`shm remove \(address)`)")
            }
        }
    }
}

extension OverflowPolicy: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

struct ServiceStatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show a service's configuration, its pool and its attached ports (pid, alive, samples).")

    @Argument(help: "The service's address.", transform: parseAddress)
    var address: RegionAddress

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try reportingErrors {
            let service = try PublishSubscribeService(opening: address, options: trust.regionOptions)
            let report = ServiceReport(address: service.address, statistics: try service.statistics())
            Output.line(json ? StatusReport.json(report, empty: "{}") : report.table)
        }
    }
}

/// A service as `shm service stat` prints it; the JSON keys are the scriptable contract.
struct ServiceReport: Encodable {
    struct Port: Encodable {
        var index: Int
        var pid: Int32
        var alive: Bool
        var messages: UInt64
        var queued: UInt64?
    }

    var address: String
    var backend: String
    var payload_size: Int
    var payload_alignment: Int
    var max_publishers: Int
    var max_subscribers: Int
    var buffer: Int
    var history: Int
    var overflow: String
    var chunks: Int
    var free_chunks: Int
    var publishers: [Port]
    var subscribers: [Port]

    init(address: RegionAddress, statistics: ServiceStatistics) {
        let configuration = statistics.configuration
        self.address = address.description
        backend = address.backend.rawValue
        payload_size = configuration.payloadByteCount
        payload_alignment = configuration.payloadAlignment
        max_publishers = configuration.maxPublishers
        max_subscribers = configuration.maxSubscribers
        buffer = configuration.subscriberBufferCapacity
        history = configuration.historyCapacity
        overflow = configuration.overflowPolicy.description
        chunks = statistics.chunkCount
        free_chunks = statistics.freeChunkCount
        publishers = statistics.publishers.map {
            Port(index: $0.index, pid: $0.pid, alive: $0.isAlive, messages: $0.messages, queued: nil)
        }
        subscribers = statistics.subscribers.map {
            Port(index: $0.index, pid: $0.pid, alive: $0.isAlive, messages: $0.messages, queued: $0.queued)
        }
    }

    var table: String {
        let rows: [(String, String)] = [
            ("address", address), ("backend", backend),
            ("payload", "\(payload_size) bytes, aligned to \(payload_alignment)"),
            ("ports", "up to \(max_publishers) publishers, \(max_subscribers) subscribers"),
            ("buffer", "\(buffer) samples per publisher and subscriber"), ("history", "\(history) samples"),
            ("overflow", overflow), ("chunks", "\(free_chunks) free of \(chunks)"),
        ]
        func line(_ kind: String, _ port: Port) -> String {
            "\(kind) \(port.index)".padding(toLength: 14, withPad: " ", startingAt: 0)
                + "pid \(port.pid)\(port.alive ? "" : " (dead)"), \(port.messages) "
                + (kind == "publisher" ? "sent" : "received, \(port.queued ?? 0) queued")
        }
        let ports = publishers.map { line("publisher", $0) } + subscribers.map { line("subscriber", $0) }
        return ([StatusReport.table(rows)] + ports).joined(separator: "\n")
    }
}
