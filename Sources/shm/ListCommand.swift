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
            `shm remove --stale` removes those. SERVICE names the publish-subscribe or event service a \
            region holds, PORTS its attached ports and which of them are dead (their process is gone); \
            STALE then says "dead ports", which `shm remove --stale` cleans. Finding services opens each \
            region of yours (a System V segment is attached for that moment).
            """)

    @Option(help: "Only this mechanism: sysv, posix or file (file needs --directory).", transform: parseBackend)
    var backend: SharedRegionBackend?

    @Option(help: "List the regular files of this directory as file: regions.")
    var directory: String?

    @Flag(help: "Print a JSON array of objects with the keys of `shm stat --json`, plus kind, creator_alive and, for a service, service.")
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
        let header = [
            "KIND", "ADDRESS", "SIZE", "PERMISSIONS", "OWNER", "ATTACHED", "CREATOR", "ALIVE", "STALE", "SERVICE", "PORTS",
        ]
        let rows = objects.map { object -> [String] in
            let status = object.status
            let size = object.semaphoreCount.map { "\($0) sems" } ?? "\(status.byteCount)"
            let dead = object.service?.deadPorts ?? []
            let stale = object.isStale ? "stale" : dead.isEmpty ? "" : "dead ports"
            return [
                object.kind.rawValue, status.address.description, size,
                StatusReport(status).permissions, StatusReport.userName(status.ownerUserID),
                status.attachCount.map(String.init) ?? "-", status.creatorProcessID.map(String.init) ?? "-",
                object.creatorAlive.map { $0 ? "yes" : "no" } ?? "-", stale, object.service?.pattern.rawValue ?? "",
                object.service.map(Self.ports) ?? "",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces
        }.joined(separator: "\n")
    }

    /// "3 (dead: subscriber 1 pid 812)": how many ports, and which are dead.
    static func ports(_ service: ListedService) -> String {
        let dead = service.deadPorts.map { "\($0.role.rawValue) \($0.index) pid \($0.pid)" }
        return "\(service.ports.count)" + (dead.isEmpty ? "" : " (dead: \(dead.joined(separator: ", ")))")
    }
}

/// A listed object as `shm list --json` prints it: the keys of `shm stat --json`, plus
/// `kind`, `creator_alive` (null where unknown), for semaphore sets `semaphore_count`, and for a
/// region holding a service `service`: `pattern` ("publish-subscribe" or "events"), `ports` (each
/// with `kind`, `index`, `pid`, `alive`, as `shm service stat --json` has them) and `dead_ports`.
struct ListReport: Encodable {
    let object: SharedMemoryObject

    private enum Key: String, CodingKey {
        case kind, creator_alive, semaphore_count, service
    }

    struct Service: Encodable {
        struct Port: Encodable {
            var kind: String
            var index: Int
            var pid: Int32
            var alive: Bool
        }

        var pattern: String
        var ports: [Port]
        var dead_ports: Int

        init(_ service: ListedService) {
            pattern = service.pattern.rawValue
            ports = service.ports.map { Port(kind: $0.role.rawValue, index: $0.index, pid: $0.pid, alive: $0.isAlive) }
            dead_ports = service.deadPorts.count
        }
    }

    func encode(to encoder: any Encoder) throws {
        try StatusReport(object.status).encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(object.kind.rawValue, forKey: .kind)
        try container.encode(object.creatorAlive, forKey: .creator_alive)
        try container.encodeIfPresent(object.semaphoreCount, forKey: .semaphore_count)
        try container.encodeIfPresent(object.service.map(Service.init), forKey: .service)
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
