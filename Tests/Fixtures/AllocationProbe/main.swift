// Sends and receives messages through an SPSCRing in one process, and prints how many heap
// allocations the messages caused (CAllocationCounter counts every malloc of the process).
// Usage: AllocationProbe ADDRESS COUNT SIZE — ADDRESS is a fresh region it creates and removes.
#if canImport(Glibc)
import Glibc
#endif
import CAllocationCounter
import SharedMemory

let arguments = CommandLine.arguments
guard arguments.count == 4, let count = Int(arguments[2]), let size = Int(arguments[3]) else {
    fatalError("usage: AllocationProbe ADDRESS COUNT SIZE")
}
let region = try SharedRegions.open(arguments[1], size: SPSCRing.byteCount(capacity: 4096), mode: .create)
defer { try? region.remove() }
try SPSCRing.initialize(in: region, capacity: 4096)
var producer = try SPSCRing.Producer(in: region)
var consumer = try SPSCRing.Consumer(in: region)
let message = [UInt8](repeating: 7, count: size)
var buffer = [UInt8](repeating: 0, count: size)

@MainActor func exchange() throws {
    guard try message.withUnsafeBytes({ try producer.trySend($0) }),
        try buffer.withUnsafeMutableBytes({ try consumer.tryReceive(into: $0) }) == size
    else { fatalError("the loopback lost a message") }
}

try exchange()  // first use may allocate once; what matters is per message
// A control: the counter must see an allocation, or a zero below would prove nothing.
let controlStart = allocation_count()
free(malloc(16))
print("control \(allocation_count() - controlStart)")
let before = allocation_count()
for _ in 0..<count { try exchange() }
let after = allocation_count()
print("allocations \(after - before) in \(count) messages")
