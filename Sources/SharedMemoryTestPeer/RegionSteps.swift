import SharedMemory
import SystemPackage

extension Peer {
    /// Steps on regions: open, create, receive, check, write, talk, close, remove.
    static let regionSteps: [String: Step] = [
        "open": { peer in
            let address = try peer.next("address")
            let access: SharedRegionAccess = peer.arguments.first == "ro" ? .readOnly : .readWrite
            if access == .readOnly { peer.arguments.removeFirst() }
            peer.region = try SharedRegions.open(address, mode: .open, access: access)
        },
        "create": { peer in
            let address = try peer.next("address")
            peer.region = try SharedRegions.open(address, size: try peer.nextNumber("size"), mode: .create)
        },
        "receive-memfd": { peer in
            let socket = FileDescriptor(rawValue: Int32(try peer.nextNumber("descriptor")))
            peer.region = try MemfdRegion.receive(from: socket)
        },
        "expect": { peer in
            let offset = try peer.nextNumber("offset")
            let expected = try bytes(fromHex: peer.next("hex"))
            let region = try peer.current()
            let found = try region.read(at: offset, count: expected.count)
            guard found == expected else {
                fail(1, "expected \(hex(expected)) at \(offset) of \(region.address), found \(hex(found))")
            }
        },
        "write": { peer in
            let offset = try peer.nextNumber("offset")
            try peer.current().write(bytes(fromHex: peer.next("hex")), at: offset)
        },
        "say": { peer in
            let text = try peer.next("text")
            say(text == "address" ? try peer.current().address.description : text)
        },
        "wait": { _ in _ = readLine() },
        "close": { peer in peer.region = nil },
        "remove": { peer in try peer.current().remove() },
    ]
}
