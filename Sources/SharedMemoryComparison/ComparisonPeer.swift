#if canImport(Glibc)
import Glibc
#endif
import CReference
import SharedMemory
import SystemPackage

/// The other process of the Swift side of a two-process measurement. `shm _compare-peer`
/// runs it; it attaches to what the measuring process made, pins itself to the CPU it is
/// given (the last argument), says "ready" and plays its part.
public enum ComparisonPeer {
    /// Exit status for arguments it cannot run with (`EX_USAGE`, as ArgumentParser uses).
    public static let usageStatus: Int32 = 64

    /// Runs the role the arguments name; returns the exit status: 0, 1 when the role failed,
    /// `usageStatus` when the arguments are wrong.
    public static func run(_ arguments: [String]) -> Int32 {
        do {
            guard arguments.count >= 3, let cpu = Int32(arguments.last!) else {
                throw UsageError("usage: ROLE ADDRESS ... CPU")
            }
            if cpu >= 0 { _ = cref_pin_to_cpu(cpu) }
            let role = arguments[0]
            // Every number a role takes is a count or a size.
            func number(_ index: Int) throws -> Int {
                guard index < arguments.count - 1, let value = Int(arguments[index]) else {
                    throw UsageError("argument \(index) of \(role) is not a number")
                }
                guard value >= 0 else {
                    throw UsageError("argument \(index) of \(role) is \(value): it must be 0 or more")
                }
                return value
            }
            switch role {
            case "round-trip":
                try roundTrip(arguments[1], address: RegionAddress(parsing: arguments[2]), total: number(3))
            case "ring-consume":
                try consume(
                    RegionAddress(parsing: arguments[1]), messages: number(2), size: number(3), polling: arguments.count > 5 && arguments[4] == "poll")
            case "handover":
                try handover(RegionAddress(parsing: arguments[1]), count: number(2))
            case "lock-hand-off":
                try lockHandOff(RegionAddress(parsing: arguments[1]), total: number(2))
            case "pubsub-receive":
                try publishSubscribeReceive(
                    RegionAddress(parsing: arguments[1]), results: RegionAddress(parsing: arguments[2]), count: number(3),
                    slot: number(4), handover: arguments.count > 6 && arguments[5] == "handover")
            case "event-echo":
                try eventEcho(RegionAddress(parsing: arguments[1]), pong: RegionAddress(parsing: arguments[2]), total: number(3))
            case "ring-echo":
                try ringEcho(RegionAddress(parsing: arguments[1]), total: number(2))
            case "reqres-echo":
                try requestResponseEcho(RegionAddress(parsing: arguments[1]), total: number(2))
            case "heap-churn":
                try heapChurn(RegionAddress(parsing: arguments[1]), pairs: number(2))
            default:
                throw UsageError("unknown role \(role)")
            }
            return 0
        } catch let error as UsageError {
            _ = try? FileDescriptor.standardError.writeAll("shm _compare-peer: \(error)\n".utf8)
            return usageStatus
        } catch {
            _ = try? FileDescriptor.standardError.writeAll("shm _compare-peer: \(error)\n".utf8)
            return 1
        }
    }

    static func ready() {
        _ = try? FileDescriptor.standardOutput.writeAll("ready\n".utf8)
    }

    private static func roundTrip(_ kind: String, address: RegionAddress, total: Int) throws {
        switch kind {
        case "sysv semaphore":
            let set = try SystemVSemaphoreSet(address, mode: .open)
            ready()
            for _ in 0..<total {
                _ = try set.apply([.wait(0)])
                _ = try set.apply([.signal(1)])
            }
        case "spin":
            let region = try SharedRegions.open(address, mode: .open)
            let word = try SharedAtomic<UInt64>(in: region, at: 0)
            ready()
            for index in 0..<total {
                let token = UInt64(2 * index + 1)
                while word.withAtomic({ $0.load(ordering: .acquiring) }) != token {}
                word.withAtomic { $0.store(token + 1, ordering: .releasing) }
            }
        default:
            let region = try SharedRegions.open(address, mode: .open)
            let word = try FutexWord(in: region, at: 0)
            ready()
            for index in 0..<total {
                let token = UInt32(truncatingIfNeeded: 2 * index + 1)
                while word.load() != token { _ = try word.wait(whileValueIs: token &- 1) }
                word.store(token &+ 1)
                word.wake()
            }
        }
    }

    private static func consume(_ address: RegionAddress, messages: Int, size: Int, polling: Bool) throws {
        let region = try SharedRegions.open(address, mode: .open)
        guard size <= region.byteCount else {
            throw UsageError("a message of \(size) bytes cannot fit the ring's \(region.byteCount)-byte region")
        }
        var consumer = try SPSCRing.Consumer(in: region, at: ComparisonRun.ringOffset)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        ready()
        if polling {
            try pollingReceives(&consumer, into: buffer, messages: messages)
        } else {
            try blockingReceives(&consumer, into: buffer, messages: messages)
        }
        try region.store(cref_now_ns(), at: ComparisonRun.resultOffset)
    }

    /// The consumer's loops, each in a function of its own as `ComparisonRun.blockingSends` is.
    @inline(never)
    private static func blockingReceives(
        _ consumer: inout SPSCRing.Consumer, into buffer: UnsafeMutableRawBufferPointer, messages: Int
    ) throws {
        for _ in 0..<messages { _ = try consumer.receive(into: buffer) }
    }

    @inline(never)
    private static func pollingReceives(
        _ consumer: inout SPSCRing.Consumer, into buffer: UnsafeMutableRawBufferPointer, messages: Int
    ) throws {
        for _ in 0..<messages { while try consumer.tryReceive(into: buffer) == nil {} }
    }

    /// The other side of `ComparisonRun.swiftLockHandOff`: holds mutex 2, then at step j takes
    /// mutex j % 3 and lets go of (j + 2) % 3.
    private static func lockHandOff(_ address: RegionAddress, total: Int) throws {
        let region = try SharedRegions.open(address, mode: .open)
        let mutexes = try (0..<3).map { try ProcessMutex(in: region, at: $0 * 64) }
        try mutexes[2].lock()
        ready()
        for step in 0..<total {
            try mutexes[step % 3].lock()
            try mutexes[(step + 2) % 3].unlock()
        }
    }

    /// The other process of `ComparisonRun.twoProcesses`: once the start word is set, `pairs`
    /// allocate + deallocate of 64 B, then its end time after the start word.
    private static func heapChurn(_ address: RegionAddress, pairs: Int) throws {
        let region = try SharedRegions.open(address, mode: .open)
        let heap = try SharedHeap(in: region, at: ComparisonRun.heapOffset)
        let go = try SharedAtomic<UInt64>(in: region, at: 0)
        ready()
        while go.withAtomic({ $0.load(ordering: .acquiring) }) == 0 {}
        for _ in 0..<pairs { try heap.deallocate(try heap.allocate(byteCount: 64)) }
        try region.store(cref_now_ns(), at: 8)
    }

    private static func handover(_ address: RegionAddress, count: Int) throws {
        let region = try SharedRegions.open(address, mode: .open)
        var consumer = try SPSCRing.Consumer(in: region, at: ComparisonRun.ringOffset)
        let seen = try SharedAtomic<UInt64>(in: region, at: ComparisonRun.resultOffset + 8)
        ready()
        for index in 0..<count {
            var message = try consumer.peek()
            while message == nil { message = try consumer.peek() }
            let now = cref_now_ns()
            try region.store(now, at: ComparisonRun.resultOffset)
            consumer.release()
            seen.withAtomic { $0.store(UInt64(index + 1), ordering: .releasing) }
        }
    }
}

extension ComparisonPeer {
    /// The subscriber of `ComparisonRun.publishSubscribeTransfer` (blocking receives, then the
    /// time of the last in its slot of the results page) or of `publishSubscribeHandover`
    /// (polling receives, the time of each and a count of those seen on the results page's first line).
    fileprivate static func publishSubscribeReceive(
        _ address: RegionAddress, results: RegionAddress, count: Int, slot: Int, handover: Bool
    ) throws {
        let service = try PublishSubscribeService(opening: address)
        let subscriber = try Subscriber(service: service)
        let region = try SharedRegions.open(results, mode: .open)
        guard ComparisonRun.subscriberEndOffset(slot) + 8 <= region.byteCount else {
            throw UsageError("slot \(slot) does not fit the \(region.byteCount)-byte results region")
        }
        let seen = try SharedAtomic<UInt64>(in: region, at: 8)
        ready()
        if handover {
            for index in 0..<count {
                while true {
                    guard let sample = try subscriber.receive() else { continue }
                    try region.store(cref_now_ns(), at: 0)
                    _ = consume sample
                    break
                }
                seen.withAtomic { $0.store(UInt64(index + 1), ordering: .releasing) }
            }
        } else {
            for index in 0..<count {
                guard try subscriber.receive(timeout: .seconds(30)) != nil else {
                    throw ComparisonError("subscriber \(slot) received \(index) of \(count) samples, then nothing for 30 s")
                }
            }
            try region.store(cref_now_ns(), at: ComparisonRun.subscriberEndOffset(slot))
        }
    }

    /// The other side of `ComparisonRun.eventRoundTrip`: each event that fires on `ping` is
    /// answered on `pong`.
    fileprivate static func eventEcho(_ ping: RegionAddress, pong: RegionAddress, total: Int) throws {
        let listener = try Listener(service: try EventService(opening: ping))
        let notifier = try Notifier(service: try EventService(opening: pong))
        ready()
        for _ in 0..<total {
            while try listener.wait(timeout: nil).eventIDs.isEmpty {}
            try notifier.notify(0)
        }
    }
}

/// Arguments `shm _compare-peer` cannot run with.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
