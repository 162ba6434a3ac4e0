#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage

// Steps for the safety suite:
//
//   fails CODE STEP ARGS...      run STEP; exit 1 unless it throws a SharedMemoryError with CODE,
//                                which is printed
//   fill BYTE                    write BYTE (hex) into every byte of the region
//   create-mode ADDRESS SIZE MODE  create with octal permission bits
//   give-to UID GID              hand the System V segment to another owner (IPC_SET)
//   umask OCTAL                  set this process's umask
//   fds                          print what each open descriptor of this process points at
//   receive-sealed FD SEALS [ro] receive a memfd, demanding SEALS (comma-separated: shrink,grow,write,seal)
//   hold COUNT ADDRESS...        open COUNT regions and keep them all until the peer exits
//   hammer ADDRESS SIZE N        N rounds of open-or-create, write, read, close, remove; exit 1 on an
//                                error code other than notFound, or a descriptor or mapping left over
//   churn ADDRESS SIZE           create, fill, close, open, write, close, remove, print the round; forever
//   open-or-create-churn KIND ADDRESS ROUNDS
//                                ROUNDS x: open-or-create (KIND "region": 4096 bytes; "sem": one
//                                semaphore), then remove, which may find it gone; exit 1, saying
//                                each error, if any open-or-create failed
extension Peer {
    static let safetySteps: [String: Step] = [
        "fails": { peer in
            let expected = try peer.next("error code")
            let name = try peer.next("step")
            guard let step = steps[name] else { throw PeerError("unknown step \(name)") }
            do {
                try step(&peer)
            } catch let error as SharedMemoryError {
                guard error.code.rawValue == expected else {
                    fail(1, "\(name) failed with \(error.code), expected \(expected): \(error)")
                }
                say("\(error)")
                return
            }
            fail(1, "\(name) succeeded, expected \(expected)")
        },
        "create-mode": { peer in
            let address = try peer.next("address")
            let size = try peer.nextNumber("size")
            guard let mode = UInt32(try peer.next("mode"), radix: 8) else { throw PeerError("mode is not octal") }
            peer.region = try SharedRegions.open(
                address, size: size, mode: .create, permissions: FilePermissions(rawValue: mode))
        },
        "fill": { peer in
            guard let byte = UInt8(try peer.next("byte"), radix: 16) else { throw PeerError("fill takes one hex byte") }
            _ = try peer.current().withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: byte) }
        },
        "give-to": { peer in
            guard let segment = try peer.current() as? SystemVRegion else { throw PeerError("not a System V region") }
            try segment.setOwner(
                userID: UInt32(try peer.nextNumber("uid")), groupID: UInt32(try peer.nextNumber("gid")))
        },
        "umask": { peer in
            guard let mask = UInt32(try peer.next("mask"), radix: 8) else { throw PeerError("umask is not octal") }
            umask(mode_t(mask))
        },
        "receive-sealed": { peer in
            let socket = FileDescriptor(rawValue: Int32(try peer.nextNumber("descriptor")))
            let names: [String: MemfdSeals] = ["shrink": .shrink, "grow": .grow, "write": .write, "seal": .seal]
            var seals: MemfdSeals = []
            for name in try peer.next("seals").split(separator: ",") {
                guard let seal = names[String(name)] else { throw PeerError("unknown seal \(name)") }
                seals.insert(seal)
            }
            let access: SharedRegionAccess = peer.arguments.first == "ro" ? .readOnly : .readWrite
            if access == .readOnly { peer.arguments.removeFirst() }
            peer.region = try MemfdRegion.receive(from: socket, access: access, requiringSeals: seals)
        },
        "hold": { peer in
            for _ in 0..<(try peer.nextNumber("count")) {
                held.append(try SharedRegions.open(try peer.next("address"), mode: .open))
            }
        },
        "hammer": { peer in
            let address = try peer.next("address")
            let (size, rounds) = (try peer.nextNumber("size"), try peer.nextNumber("rounds"))
            let before = (try openDescriptors(), try mappings())
            var failures: [SharedMemoryError.Code: Int] = [:]
            for round in 0..<rounds {
                do {
                    let region = try SharedRegions.open(address, size: size, mode: .openOrCreate)
                    try region.write(withUnsafeBytes(of: round) { Array($0) }, at: size - 8)
                    _ = try region.read(at: 0, count: size)
                    if round % 2 == 0 { try region.remove() }
                } catch let error as SharedMemoryError {
                    failures[error.code, default: 0] += 1
                }
            }
            say("failures \(failures.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))")
            if let unexpected = failures.keys.first(where: { $0 != .notFound }) {
                fail(1, "unexpected error code \(unexpected)")
            }
            let after = (try openDescriptors(), try mappings())
            guard after == before else { fail(1, "leaked: descriptors and mappings \(before) before, \(after) after") }
        },
        "churn": { peer in
            let address = try peer.next("address")
            let size = try peer.nextNumber("size")
            for round in 0... {
                var region: (any SharedRegion)? = try SharedRegions.open(address, size: size, mode: .create)
                _ = try region?.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0x5A) }
                region = try SharedRegions.open(address, mode: .open)
                try region?.write([UInt8(truncatingIfNeeded: round)], at: size - 1)
                try region?.remove()
                region = nil
                say("round \(round)")
            }
        },
        "open-or-create-churn": { peer in
            let kind = try peer.next("kind")
            let address = try RegionAddress(parsing: peer.next("address"))
            var failures: [String] = []
            for _ in 0..<(try peer.nextNumber("rounds")) {
                let remove: () throws -> Void
                do {
                    if kind == "sem" {
                        let set = try SystemVSemaphoreSet(address, initialValues: [1])
                        remove = { try set.remove() }
                    } else {
                        let region = try SharedRegions.open(address, size: 4096, mode: .openOrCreate)
                        remove = { try region.remove() }
                    }
                } catch {
                    failures.append("\(error)")
                    continue
                }
                try? remove()  // the other process may have removed it first
            }
            guard failures.isEmpty else { fail(1, "\(failures.count) open-or-create failures: \(failures)") }
        },
        "fds": { _ in
            let directory = try FileDescriptor.open("/proc/self/fd", .readOnly, options: [.directory, .closeOnExec])
            guard let stream = fdopendir(directory.rawValue) else { throw Errno(rawValue: errno) }
            defer { closedir(stream) }
            while let entry = readdir(stream) {
                // In place: a dirent is only as long as its name.
                let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
                let name = String(cString: UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self))
                var target = [CChar](repeating: 0, count: 4096)
                let count = readlink("/proc/self/fd/" + name, &target, target.count - 1)
                if count > 0 { say("\(name) " + String(decoding: target[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
            }
        },
    ]
}

/// The regions `hold` keeps open; a peer runs its steps on one thread.
nonisolated(unsafe) private var held: [any SharedRegion] = []

/// How many descriptors this process has open (`/proc/self/fd`).
private func openDescriptors() throws -> Int {
    guard let stream = opendir("/proc/self/fd") else { throw Errno(rawValue: errno) }
    defer { closedir(stream) }
    var count = 0
    while readdir(stream) != nil { count += 1 }
    return count
}

/// How many shared-memory mappings this process has: the lines of `/proc/self/maps` that
/// name a System V segment, a POSIX object or a test file (the runtime's own come and go).
private func mappings() throws -> Int {
    let descriptor = try FileDescriptor.open("/proc/self/maps", .readOnly, options: .closeOnExec)
    defer { try? descriptor.close() }
    var text: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let read = try chunk.withUnsafeMutableBytes { try descriptor.read(into: $0) }
        if read == 0 { break }
        text += chunk[..<read]
    }
    return String(decoding: text, as: UTF8.self).split(separator: "\n")
        .count { $0.contains("SYSV") || $0.contains("/dev/shm/") || $0.contains("smtest-") }
}
