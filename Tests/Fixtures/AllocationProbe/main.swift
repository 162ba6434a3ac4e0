// Sends and receives messages in one process, and prints how many heap allocations the messages
// caused (CAllocationCounter counts every malloc of the process).
// Usage: AllocationProbe ADDRESS COUNT SIZE [ring|publish-subscribe|events] — ADDRESS is a fresh
// region it creates and removes; the channel is an SPSCRing unless told otherwise (SIZE is the
// message size; events ignore it).
#if canImport(Glibc)
import Glibc
#endif
import CAllocationCounter
import SharedMemory

let arguments = CommandLine.arguments
guard arguments.count == 4 || arguments.count == 5, let count = Int(arguments[2]), let size = Int(arguments[3]) else {
    fatalError("usage: AllocationProbe ADDRESS COUNT SIZE [ring|publish-subscribe|events]")
}
let address = try RegionAddress(parsing: arguments[1])
let message = [UInt8](repeating: 7, count: size)
var buffer = [UInt8](repeating: 0, count: size)
let exchange: () throws -> Void

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
default:
    fatalError("usage: AllocationProbe ADDRESS COUNT SIZE [ring|publish-subscribe|events]")
}
defer { try? SharedRegions.remove(address) }

try exchange()  // first use may allocate once; what matters is per message
// A control: the counter must see an allocation, or a zero below would prove nothing.
let controlStart = allocation_count()
free(malloc(16))
print("control \(allocation_count() - controlStart)")
let before = allocation_count()
for _ in 0..<count { try exchange() }
let after = allocation_count()
print("allocations \(after - before) in \(count) messages")
