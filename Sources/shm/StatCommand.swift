#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import SharedMemory

struct StatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show a region's size, permissions, owner and, for System V, attach count and pids.",
        discussion: "Looks without attaching: the attach count shown is not raised by looking.")

    @Argument(help: "The region's address.", transform: parseAddress)
    var address: RegionAddress

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        try reportingErrors {
            let report = StatusReport(try SharedRegions.status(of: address))
            Output.line(json ? report.json : report.table)
        }
    }
}

/// A status as `shm stat` prints it; the JSON keys are the scriptable contract.
struct StatusReport: Encodable {
    var address: String
    var backend: String
    var size: Int
    var permissions: String
    var uid: UInt32
    var gid: UInt32
    var attach_count: Int?
    var creator_pid: Int32?
    var last_pid: Int32?
    var attach_time: Int?
    var detach_time: Int?
    var change_time: Int?
    var access_time: Int?
    var modification_time: Int?

    init(_ status: SharedRegionStatus) {
        address = status.address.description
        backend = status.backend.rawValue
        size = status.byteCount
        permissions = status.permissions.octal
        uid = status.ownerUserID
        gid = status.ownerGroupID
        attach_count = status.attachCount
        creator_pid = status.creatorProcessID
        last_pid = status.lastProcessID
        attach_time = status.attachTime?.seconds
        detach_time = status.detachTime?.seconds
        change_time = status.changeTime?.seconds
        access_time = status.accessTime?.seconds
        modification_time = status.modificationTime?.seconds
    }

    var json: String { Self.json(self, empty: "{}") }

    static func json(_ value: some Encodable, empty: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data(empty.utf8), as: UTF8.self)
    }

    static func userName(_ uid: UInt32) -> String {
        getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "?"
    }

    var table: String {
        var rows: [(String, String)] = [
            ("address", address), ("backend", backend), ("size", "\(size)"), ("permissions", permissions),
            ("owner", "\(Self.userName(uid)) (uid \(uid))"), ("group", "\(Self.groupName(gid)) (gid \(gid))"),
        ]
        if let attach_count { rows.append(("attach count", "\(attach_count)")) }
        if let creator_pid { rows.append(("creator pid", "\(creator_pid)")) }
        if let last_pid { rows.append(("last pid", "\(last_pid)")) }
        for (label, time) in [
            ("attached", attach_time), ("detached", detach_time), ("accessed", access_time),
            ("modified", modification_time), ("changed", change_time),
        ] {
            if let time { rows.append((label, Self.iso8601(time))) }
        }
        return Self.table(rows)
    }

    /// Label and value rows, the values lined up.
    static func table(_ rows: [(String, String)]) -> String {
        rows.map { $0.0.padding(toLength: 14, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }

    static func groupName(_ gid: UInt32) -> String {
        getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? "?"
    }

    static func iso8601(_ seconds: Int) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).ISO8601Format()
    }
}
