import ArgumentParser
import SharedMemory

struct SemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sem",
        abstract: "System V semaphore sets: create, get, set, op, stat, remove.",
        discussion: """
            A set is named by a System V address, as regions are: sysv:KEY, sysv:ftok:/PATH#PROJ, \
            sysv:id=SEMID, or sysv:private (create only; prints sysv:id=N). `ipcs -s` lists the sets.
            """,
        subcommands: [
            SemCreateCommand.self, SemGetCommand.self, SemSetCommand.self, SemOpCommand.self,
            SemStatCommand.self, SemRemoveCommand.self,
        ]
    )
}

/// Parses a semaphore set's address: a `sysv:` one, since only System V has semaphore sets.
func parseSemaphoreAddress(_ text: String) throws -> RegionAddress {
    let address = try parseAddress(text)
    guard case .systemV = address else {
        throw ValidationError(
            "semaphore sets are System V objects: give a sysv: address "
                + "(sysv:KEY, sysv:ftok:/PATH#PROJ, sysv:id=SEMID, sysv:private)")
    }
    return address
}

/// Semaphore values as a comma-separated list: `1,0,5`.
struct ValueList: ExpressibleByArgument {
    let values: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        let numbers = parts.compactMap { Int($0) }
        guard !parts.isEmpty, numbers.count == parts.count else { return nil }
        values = numbers
    }
}
