import ArgumentParser
import SharedMemory

struct SemGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print a semaphore set's values on one line, separated by spaces (semctl GETALL).")

    @Argument(help: "The set's address.", transform: parseSemaphoreAddress)
    var address: RegionAddress

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try reportingErrors {
            // Looking needs no initialised set: show whatever is there.
            let set = try SystemVSemaphoreSet(
                address, mode: .open, initializationWait: .zero, trustedOwners: trust.owners)
            Output.line(try set.values().map(String.init).joined(separator: " "))
        }
    }
}
