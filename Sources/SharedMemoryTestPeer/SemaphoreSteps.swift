import SharedMemory
import SystemPackage

extension Peer {
    /// Steps on System V semaphore sets, each opening the set by address:
    ///
    ///   sem-op ADDRESS INDEX DELTA FLAGS    say "about to wait", apply one operation (FLAGS: "-",
    ///                                       or a comma list of "undo", "nowait", "timeout=SECONDS"),
    ///                                       then say "applied", "would block", "timed out", or
    ///                                       "error CODE: MESSAGE"
    ///   sem-open-or-create ADDRESS VALUES   open or create the set with initial VALUES (a,b,...),
    ///                                       say "created" or "opened", then the values it sees
    ///   sem-create ADDRESS VALUES MODE     create the set with initial VALUES and octal MODE
    ///   sem-give ADDRESS UID GID           hand the set to another owner (IPC_SET)
    ///   sem-count SEM REGION OFFSET TIMES   TIMES x: take semaphore 0 with undo, add 1 to the
    ///                                       UInt64 at OFFSET of REGION (not atomically), give it back
    static let semaphoreSteps: [String: Step] = [
        "sem-op": { peer in
            let set = try SystemVSemaphoreSet(try peer.next("address"), mode: .open)
            let index = try peer.nextNumber("index")
            let delta = try peer.nextNumber("delta")
            var flags: SemaphoreOperation.Flags = []
            var timeout: Duration?
            for flag in try peer.next("flags").split(separator: ",") where flag != "-" {
                switch flag {
                case "undo": flags.insert(.undo)
                case "nowait": flags.insert(.noWait)
                case _ where flag.hasPrefix("timeout="):
                    guard let seconds = Int(flag.dropFirst(8)) else { throw PeerError("bad \(flag)") }
                    timeout = .seconds(seconds)
                default: throw PeerError("unknown semaphore flag \(flag)")
                }
            }
            say("about to wait")
            do throws(SharedMemoryError) {
                switch try set.apply([SemaphoreOperation(index: index, delta: delta, flags: flags)], timeout: timeout) {
                case .applied: say("applied")
                case .wouldBlock: say("would block")
                case .timedOut: say("timed out")
                }
            } catch {
                say("error \(error.code): \(error.message)")
            }
        },
        "sem-open-or-create": { peer in
            let address = try peer.next("address")
            let set = try SystemVSemaphoreSet(address, initialValues: values(peer.next("values")))
            say((set.created ? "created " : "opened ") + (try set.values()).map(String.init).joined(separator: ","))
        },
        "sem-create": { peer in
            let address = try peer.next("address")
            let values = try values(peer.next("values"))
            guard let mode = UInt32(try peer.next("mode"), radix: 8) else { throw PeerError("mode is not octal") }
            _ = try SystemVSemaphoreSet(
                address, mode: .create, permissions: FilePermissions(rawValue: mode), initialValues: values)
        },
        "sem-give": { peer in
            let set = try SystemVSemaphoreSet(try peer.next("address"), mode: .open)
            try set.setOwner(userID: UInt32(try peer.nextNumber("uid")), groupID: UInt32(try peer.nextNumber("gid")))
        },
        "sem-count": { peer in
            let set = try SystemVSemaphoreSet(try peer.next("semaphore address"), mode: .open)
            let region = try SharedRegions.open(try peer.next("region address"), mode: .open)
            let offset = try peer.nextNumber("offset")
            let times = try peer.nextNumber("times")
            guard offset >= 0, offset + 8 <= region.byteCount, offset % 8 == 0 else {
                throw PeerError("offset \(offset) does not hold an aligned UInt64 in the region")
            }
            let counter = (region.baseAddress + offset).assumingMemoryBound(to: UInt64.self)
            for _ in 0..<times {
                // A plain read-modify-write: only the semaphore keeps the peers from losing counts.
                try set.withLock { counter.pointee += 1 }
            }
        },
    ]

    private static func values(_ list: String) throws -> [Int] {
        try list.split(separator: ",").map { text in
            guard let value = Int(text) else { throw PeerError("bad value \(text)") }
            return value
        }
    }
}
