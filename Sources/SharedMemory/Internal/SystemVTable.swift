/// The tables the kernel publishes of every System V segment and semaphore set in this IPC
/// namespace, `/proc/sysvipc/shm` and `/proc/sysvipc/sem`: readable by anyone, even for
/// objects they may not `IPC_STAT`. Columns are found by their header names.
enum SystemVTable {
    struct Segment {
        var key: Int32, id: Int32, mode: UInt32, byteCount: Int
        var creatorPID: Int32, lastPID: Int32, attachCount: Int
        var uid: UInt32, gid: UInt32, creatorUID: UInt32
        var attachTime: Int, detachTime: Int, changeTime: Int
    }

    struct SemaphoreSet {
        var key: Int32, id: Int32, mode: UInt32, count: Int
        var uid: UInt32, gid: UInt32, creatorUID: UInt32
        var operationTime: Int, changeTime: Int
    }

    static func segments() -> [Segment] {
        rows("/proc/sysvipc/shm").compactMap { row in
            guard let key = row.int32("key"), let id = row.int32("shmid"), let mode = row.mode,
                let size = row.int("size"), let cpid = row.int32("cpid"), let lpid = row.int32("lpid"),
                let nattch = row.int("nattch"), let uid = row.uint32("uid"), let gid = row.uint32("gid"),
                let cuid = row.uint32("cuid")
            else { return nil }
            return Segment(
                key: key, id: id, mode: mode, byteCount: size, creatorPID: cpid, lastPID: lpid, attachCount: nattch,
                uid: uid, gid: gid, creatorUID: cuid, attachTime: row.int("atime") ?? 0,
                detachTime: row.int("dtime") ?? 0, changeTime: row.int("ctime") ?? 0)
        }
    }

    static func semaphoreSets() -> [SemaphoreSet] {
        rows("/proc/sysvipc/sem").compactMap { row in
            guard let key = row.int32("key"), let id = row.int32("semid"), let mode = row.mode,
                let count = row.int("nsems"), let uid = row.uint32("uid"), let gid = row.uint32("gid"),
                let cuid = row.uint32("cuid")
            else { return nil }
            return SemaphoreSet(
                key: key, id: id, mode: mode, count: count, uid: uid, gid: gid, creatorUID: cuid,
                operationTime: row.int("otime") ?? 0, changeTime: row.int("ctime") ?? 0)
        }
    }

    private struct Row {
        let fields: [String: Substring]
        func int(_ name: String) -> Int? { fields[name].flatMap { Int($0) } }
        func int32(_ name: String) -> Int32? { fields[name].flatMap { Int32($0) } }
        func uint32(_ name: String) -> UInt32? { fields[name].flatMap { UInt32($0) } }
        /// `perms` is octal, with the kernel's SHM_DEST and SHM_LOCKED bits above the 9 permission bits.
        var mode: UInt32? { fields["perms"].flatMap { UInt32($0, radix: 8) }.map { $0 & 0o777 } }
    }

    private static func rows(_ path: String) -> [Row] {
        guard let table = SystemFile.contents(path) else { return [] }
        let lines = table.split(separator: "\n")
        guard let header = lines.first?.split(whereSeparator: \.isWhitespace) else { return [] }
        return lines.dropFirst().map { line in
            Row(fields: Dictionary(zip(header.map(String.init), line.split(whereSeparator: \.isWhitespace))) { first, _ in first })
        }
    }
}
