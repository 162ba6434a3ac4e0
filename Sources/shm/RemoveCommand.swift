import ArgumentParser
import SharedMemory

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove regions by address; processes that have them mapped keep their mapping.",
        discussion: """
            With --stale, removes the System V segments whose creator is gone and which nobody has \
            attached (see `shm list`), or only those among the addresses given, and prints each one \
            removed. A segment made on purpose by a program that has exited (such as `shm create`) \
            counts as stale too: give addresses where other programs may rely on such segments.
            """)

    @Argument(help: "The addresses to remove (with --stale: to consider).", transform: parseAddress)
    var addresses: [RegionAddress] = []

    @Flag(help: "Remove stale System V segments: creator gone, nothing attached.")
    var stale = false

    func validate() throws {
        if addresses.isEmpty && !stale { throw ValidationError("give at least one address, or --stale") }
        if stale, let other = addresses.first(where: { $0.backend != .systemV }) {
            throw ValidationError(
                "--stale applies to System V segments only: the kernel records who created a segment and who has "
                    + "it attached, but not for \(other.backend) objects such as \(other), so nothing says one is "
                    + "stale; remove it by name with `shm remove \(other)`")
        }
    }

    func run() throws {
        var failed = false
        if stale {
            let outcome = SharedMemoryInventory.removeStale(among: addresses.isEmpty ? nil : addresses)
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
