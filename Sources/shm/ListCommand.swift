import ArgumentParser
import SharedMemory
import SystemPackage

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every shared-memory object on this machine: System V segments and semaphore sets, "
            + "POSIX objects, and the files of a directory.",
        discussion: """
            ALIVE says whether the creator still runs (System V segments only: the kernel keeps no creator \
            for the others). STALE marks a segment whose creator is gone and which nobody has attached: \
            `shm remove --stale` removes those.
            """)

    @Option(help: "Only this mechanism: sysv, posix or file (file needs --directory).", transform: parseBackend)
    var backend: SharedRegionBackend?

    @Option(help: "List the regular files of this directory as file: regions.")
    var directory: String?

    @Flag(help: "Print a JSON array of objects with the keys of `shm stat --json`, plus kind and creator_alive.")
    var json = false

    func validate() throws {
        if backend == .memfd {
            throw ValidationError("a memfd has no name to list: it lives in the descriptors of the processes holding it")
        }
        if backend == .file && directory == nil { throw ValidationError("--backend file needs --directory DIR") }
        if let directory, !directory.hasPrefix("/") { throw ValidationError("--directory takes an absolute path") }
    }

    func run() throws {
        try reportingErrors {
            let backends: Set<SharedRegionBackend> = backend.map { [$0] } ?? [.systemV, .posix, .file]
            let objects = try SharedMemoryInventory.list(backends: backends, fileDirectory: directory.map { FilePath($0) })
            let reports = objects.map(ListReport.init)
            if json {
                Output.line(StatusReport.json(reports, empty: "[]"))
            } else {
                Output.line(Self.table(objects))
            }
        }
    }

    static func table(_ objects: [SharedMemoryObject]) -> String {
        let header = ["KIND", "ADDRESS", "SIZE", "PERMISSIONS", "OWNER", "ATTACHED", "CREATOR", "ALIVE", "STALE"]
        let rows = objects.map { object -> [String] in
            let status = object.status
            let size = object.semaphoreCount.map { "\($0) sems" } ?? "\(status.byteCount)"
            return [
                object.kind.rawValue, status.address.description, size,
                StatusReport(status).permissions, StatusReport.userName(status.ownerUserID),
                status.attachCount.map(String.init) ?? "-", status.creatorProcessID.map(String.init) ?? "-",
                object.creatorAlive.map { $0 ? "yes" : "no" } ?? "-", object.isStale ? "stale" : "",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces
        }.joined(separator: "\n")
    }
}

/// A listed object as `shm list --json` prints it: the keys of `shm stat --json`, plus
/// `kind`, `creator_alive` (null where unknown) and, for semaphore sets, `semaphore_count`.
struct ListReport: Encodable {
    let object: SharedMemoryObject

    private enum Key: String, CodingKey {
        case kind, creator_alive, semaphore_count
    }

    func encode(to encoder: any Encoder) throws {
        try StatusReport(object.status).encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(object.kind.rawValue, forKey: .kind)
        try container.encode(object.creatorAlive, forKey: .creator_alive)
        try container.encodeIfPresent(object.semaphoreCount, forKey: .semaphore_count)
    }
}

/// Parses `--backend`, with the library's reason on failure.
func parseBackend(_ text: String) throws -> SharedRegionBackend {
    do {
        return try SharedRegionBackend(parsing: text)
    } catch {
        throw ValidationError("\(error.message)\nhint: \(error.hint)")
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
