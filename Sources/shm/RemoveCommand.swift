import ArgumentParser
import SharedMemory

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove regions by address; processes that have them mapped keep their mapping.")

    @Argument(help: "The addresses to remove.", transform: parseAddress)
    var addresses: [RegionAddress]

    func validate() throws {
        if addresses.isEmpty { throw ValidationError("give at least one address") }
    }

    func run() throws {
        var failed = false
        for address in addresses {
            do {
                try SharedMemory.remove(address)
            } catch {
                Output.error("shm: \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}
