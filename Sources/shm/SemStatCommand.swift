import ArgumentParser
import Foundation
import SharedMemory

struct SemStatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show a semaphore set's permissions, owner, times, and each semaphore's value, waiters and last pid.")

    @Argument(help: "The set's address.", transform: parseSemaphoreAddress)
    var address: RegionAddress

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try reportingErrors {
            let set = try SystemVSemaphoreSet(
                address, mode: .open, initializationWait: .zero, trustedOwners: trust.owners)
            let report = try SemaphoreSetReport(set)
            Output.line(json ? report.json : report.table)
        }
    }
}

/// A semaphore set as `shm sem stat` prints it; the JSON keys are the scriptable contract.
struct SemaphoreSetReport: Encodable {
    var address: String
    var id: Int32
    var backend = "sysv"
    var count: Int
    var permissions: String
    var uid: UInt32
    var gid: UInt32
    var creator_uid: UInt32
    var creator_gid: UInt32
    /// Seconds since the epoch of the last semop, null if none; of the last semctl change.
    var otime: Int?
    var ctime: Int
    var values: [Int]
    /// Per semaphore: processes waiting for it to grow (GETNCNT), to be 0 (GETZCNT), last pid (GETPID).
    var waiting: [Int]
    var zero_waiting: [Int]
    var last_pids: [Int32?]

    init(_ set: SystemVSemaphoreSet) throws(SharedMemoryError) {
        let status = try set.status()
        address = set.address.description
        id = set.id
        count = status.count
        permissions = status.permissions.octal
        uid = status.ownerUserID
        gid = status.ownerGroupID
        creator_uid = status.creatorUserID
        creator_gid = status.creatorGroupID
        otime = status.lastOperationTime?.seconds
        ctime = status.changeTime.seconds
        values = try set.values()
        (waiting, zero_waiting, last_pids) = ([], [], [])
        for index in 0..<set.count {
            waiting.append(try set.waitingCount(at: index))
            zero_waiting.append(try set.zeroWaitingCount(at: index))
            last_pids.append(try set.lastProcessID(at: index))
        }
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    var table: String {
        let rows: [(String, String)] = [
            ("address", address), ("id", "\(id)"), ("backend", backend), ("count", "\(count)"), ("permissions", permissions),
            ("owner", "\(StatusReport.userName(uid)) (uid \(uid))"),
            ("group", "\(StatusReport.groupName(gid)) (gid \(gid))"),
            ("creator", "\(StatusReport.userName(creator_uid)) (uid \(creator_uid)), "
                + "\(StatusReport.groupName(creator_gid)) (gid \(creator_gid))"),
            ("last semop", otime.map(StatusReport.iso8601) ?? "never"),
            ("changed", StatusReport.iso8601(ctime)),
        ]
        let columns = ["semaphore", "value", "waiting", "zero-waiting", "last pid"]
        let semaphores = (0..<count).map { index in
            ["\(index)", "\(values[index])", "\(waiting[index])", "\(zero_waiting[index])",
             last_pids[index].map { "\($0)" } ?? "-"]
        }
        let lines = ([columns] + semaphores).map { cells in
            cells.map { $0.padding(toLength: 14, withPad: " ", startingAt: 0) }.joined().trimmingCharacters(in: .whitespaces)
        }
        return StatusReport.table(rows) + "\n\n" + lines.joined(separator: "\n")
    }
}
