import ArgumentParser
import SharedMemory
import SystemPackage

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove regions by address; processes that have them mapped keep their mapping.",
        discussion: """
            With --stale, first cleans the dead ports of every publish-subscribe and event service \
            (ports whose process is gone: their samples return to the pool, subscribers learn of a dead \
            publisher; the service stays), then removes the System V segments whose creator is gone and \
            which nobody has attached (see `shm list`); or only among the addresses given. It prints each \
            service cleaned and each segment removed. A segment made on purpose by a program that has \
            exited (such as `shm create`) counts as stale too: give addresses where other programs may \
            rely on such segments.
            """)

    @Argument(help: "The addresses to remove (with --stale: to consider).", transform: parseAddress)
    var addresses: [RegionAddress] = []

    @Flag(help: "Clean the dead ports of services, and remove stale System V segments: creator gone, nothing attached.")
    var stale = false

    @Option(help: "With --stale and no addresses: only this mechanism (sysv, posix or file).", transform: parseBackend)
    var backend: SharedRegionBackend?

    @Option(help: "With --stale and no addresses: consider the regular files of this directory as file: services too.")
    var directory: String?

    func validate() throws {
        if addresses.isEmpty && !stale { throw ValidationError("give at least one address, or --stale") }
        if (directory != nil || backend != nil) && (!stale || !addresses.isEmpty) {
            throw ValidationError("--backend and --directory go with --stale and no addresses")
        }
        if backend == .memfd { throw ValidationError("a memfd has no name: nothing finds it to clean") }
        if let directory, !directory.hasPrefix("/") { throw ValidationError("--directory takes an absolute path") }
    }

    func run() throws {
        var failed = false
        if stale {
            // Only a service's dead ports can make a POSIX or file object stale.
            for address in addresses where address.backend != .systemV {
                do {
                    guard try SharedMemoryInventory.service(at: address) != nil else {
                        throw SharedMemoryError(
                            code: .invalidArgument, operation: "shm remove --stale", address: address.description,
                            message: "the region holds no publish-subscribe or event service, and the kernel records "
                                + "neither creator nor users of \(address.backend) objects: nothing says it is stale",
                            hint: "remove it by name with `shm remove \(address)` once nothing uses it")
                    }
                } catch {
                    Output.error("shm: \(error)")
                    failed = true
                }
            }
            let outcome = SharedMemoryInventory.removeStale(
                among: addresses.isEmpty ? nil : addresses, backends: backend.map { [$0] } ?? [.systemV, .posix, .file],
                fileDirectory: directory.map { FilePath($0) })
            for object in outcome.cleaned {
                let ports = (object.service?.ports ?? []).map { "\($0.role.rawValue) \($0.index) pid \($0.pid)" }
                Output.line("cleaned \(object.status.address) (dead ports: \(ports.joined(separator: ", ")))")
            }
            for object in outcome.removed {
                let id = object.systemVID.map { "id \($0), " } ?? ""
                let creator = object.status.creatorProcessID.map { "creator pid \($0) gone, " } ?? ""
                Output.line("removed \(object.status.address) (\(id)\(creator)\(object.status.byteCount) bytes, nothing attached)")
            }
            for (_, error) in outcome.failures {
                Output.error("shm: \(error)")
                failed = true
            }
        } else {
            for address in addresses {
                do {
                    try SharedRegions.remove(address)
                } catch {
                    Output.error("shm: \(error)")
                    failed = true
                }
            }
        }
        if failed { throw ExitCode.failure }
    }
}
