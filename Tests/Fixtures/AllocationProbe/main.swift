// Sends and receives messages in one process, and prints how many heap allocations the messages
// caused (CAllocationCounter counts every malloc of the process).
// Usage: AllocationProbe ADDRESS COUNT SIZE [CHANNEL] — ADDRESS is a fresh region it creates and
// removes; SIZE is the message size (events ignore it). CHANNEL is ring (the default),
// publish-subscribe, events, or the async receive paths: publish-subscribe-async (a busy stream:
// each sample already there when `nextSample()` is called, through the three ways of receiving
// in turn), events-async, and publish-subscribe-async-blocked (a measurement, not a test: another
// thread sends each sample once the previous one was received, and the receiver does not spin, so
// nearly every receive suspends and is resumed by the waiter thread).
#if canImport(Glibc)
import Glibc
#endif
import CAllocationCounter
import SharedMemory
import Synchronization

let usage = "usage: AllocationProbe ADDRESS COUNT SIZE [ring|publish-subscribe|events|publish-subscribe-async|events-async|publish-subscribe-async-blocked]"

// Off the main actor: the async channels' waits run where a task's would, with no hop per message.
func probe() async throws {
    let arguments = CommandLine.arguments
    guard arguments.count == 4 || arguments.count == 5, let count = Int(arguments[2]), let size = Int(arguments[3]) else {
        fatalError(usage)
    }
    let address = try RegionAddress(parsing: arguments[1])
    let message = [UInt8](repeating: 7, count: size)
    var buffer = [UInt8](repeating: 0, count: size)
    let exchange: () async throws -> Void

    switch arguments.count == 5 ? arguments[4] : "ring" {
    case "ring":
        let region = try SharedRegions.open(address, size: SPSCRing.byteCount(capacity: 4096), mode: .create)
        try SPSCRing.initialize(in: region, capacity: 4096)
        var producer = try SPSCRing.Producer(in: region)
        var consumer = try SPSCRing.Consumer(in: region)
        exchange = {
            guard try message.withUnsafeBytes({ try producer.trySend($0) }),
                try buffer.withUnsafeMutableBytes({ try consumer.tryReceive(into: $0) }) == size
            else { fatalError("the loopback lost a message") }
        }
    case "publish-subscribe":
        let service = try PublishSubscribeService(
            openingOrCreating: address, configuration: ServiceConfiguration(payloadByteCount: size, maxPublishers: 1, maxSubscribers: 1))
        let publisher = try Publisher(service: service)
        let subscriber = try Subscriber(service: service)
        exchange = {
            let sample = try publisher.loan()
            message.withUnsafeBytes { sample.payload.copyMemory(from: $0) }
            guard try publisher.send(sample, byteCount: size), let received = try subscriber.receive(), received.bytes.count == size
            else { fatalError("the loopback lost a sample") }
        }
    case "events":
        let service = try EventService(openingOrCreating: address, configuration: EventConfiguration())
        let notifier = try Notifier(service: service)
        let listener = try Listener(service: service)
        _ = try listener.tryWait()  // the notifier's attaching
        exchange = {
            try notifier.notify(3)
            let fired = try listener.tryWait()
            guard fired.eventIDs.count == 1, fired.eventIDs[0] == 3 else { fatalError("the loopback lost an event") }
        }
    case "publish-subscribe-async":
        let service = try PublishSubscribeService(
            openingOrCreating: address, configuration: ServiceConfiguration(payloadByteCount: size, maxPublishers: 1, maxSubscribers: 1))
        let publisher = try Publisher(service: service)
        let subscriber = try Subscriber(service: service)
        var bytes = subscriber.makeAsyncIterator()
        var values = subscriber.values(of: UInt8.self).makeAsyncIterator()
        var turn = 0
        exchange = {
            turn += 1
            let kind = turn % 3
            let sample = try publisher.loan()
            message.withUnsafeBytes { sample.payload.copyMemory(from: $0) }
            guard try publisher.send(sample, byteCount: kind == 0 ? 1 : size) else { fatalError("the loopback lost a sample") }
            switch kind {
            case 0:
                guard try await values.next() == 7 else { fatalError("the loopback lost a value") }
            case 1:
                guard try await bytes.next()?.count == size else { fatalError("the loopback lost a sample") }
            default:
                guard let sample = try await subscriber.nextSample(), sample.bytes.count == size else {
                    fatalError("the loopback lost a sample")
                }
            }
        }
    case "events-async":
        let service = try EventService(openingOrCreating: address, configuration: EventConfiguration())
        let notifier = try Notifier(service: service)
        let listener = try Listener(service: service)
        _ = try listener.tryWait()  // the notifier's attaching
        var events = listener.makeAsyncIterator()
        exchange = {
            try notifier.notify(3)
            guard let fired = try await events.next(), fired.eventIDs.count == 1, fired.eventIDs[0] == 3 else {
                fatalError("the loopback lost an event")
            }
        }
    case "publish-subscribe-async-blocked":
        let service = try PublishSubscribeService(
            openingOrCreating: address, configuration: ServiceConfiguration(payloadByteCount: size, maxPublishers: 1, maxSubscribers: 1))
        let subscriber = try Subscriber(service: service)
        let sender = BlockedSender(try Publisher(service: service))
        exchange = {
            sender.allowOne()
            guard let sample = try await subscriber.nextSample(strategy: SpinThenWait(spins: 0)), sample.bytes.count == 1 else {
                fatalError("the loopback lost a sample")
            }
        }
    default:
        fatalError(usage)
    }
    defer { try? SharedRegions.remove(address) }

    // First use may allocate once (an async mode takes three turns); what matters is per message.
    for _ in 0..<3 { try await exchange() }
    // A control: the counter must see an allocation, or a zero below would prove nothing.
    let controlStart = allocation_count()
    free(malloc(16))
    print("control \(allocation_count() - controlStart)")
    // The fewer of two rounds: an allocation per message shows in both; a stray one of the async
    // runtime's own threads (libdispatch's pool, seen once in a loaded full-suite run) in one at most.
    var fewest = UInt.max
    for _ in 0..<2 {
        let before = allocation_count()
        for _ in 0..<count { try await exchange() }
        fewest = min(fewest, allocation_count() - before)
    }
    print("allocations \(fewest) in \(count) messages")
}

try await probe()

/// A thread that sends one sample each time it is allowed to, so that the receiver, which does
/// not spin, finds nothing and suspends before nearly every sample.
final class BlockedSender: @unchecked Sendable {
    let publisher: Publisher
    let allowed = Atomic<Int>(0)

    init(_ publisher: Publisher) {
        self.publisher = publisher
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        guard pthread_create(&thread, nil, { context in
            Unmanaged<BlockedSender>.fromOpaque(context!).takeRetainedValue().run()
        }, context) == 0 else { fatalError("pthread_create") }
        pthread_detach(thread)
    }

    func allowOne() { allowed.wrappingAdd(1, ordering: .releasing) }

    private func run() -> Never {
        var sent = 0
        while true {
            guard allowed.load(ordering: .acquiring) > sent else {
                sched_yield()
                continue
            }
            sent += 1
            _ = try? publisher.send(value: UInt8(1))
        }
    }
}
