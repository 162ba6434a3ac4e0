import ArgumentParser
import SharedMemory

struct SemRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a semaphore set at once (semctl IPC_RMID); processes waiting on it get an error.")

    @Argument(help: "The set's address.", transform: parseSemaphoreAddress)
    var address: RegionAddress

    func run() throws {
        try reportingErrors { try SystemVSemaphoreSet.remove(address) }
    }
}
