import ArgumentParser
import SharedMemory

struct SemSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set one semaphore (INDEX VALUE, semctl SETVAL) or all of them (--values, semctl SETALL).",
        discussion: "Values are 0…32767. Setting clears the undo adjustments processes hold for those semaphores.")

    @Argument(help: "The set's address.", transform: parseSemaphoreAddress)
    var address: RegionAddress

    // Unrecognized-tolerant, so that a negative value reaches the library's range check
    // instead of being taken for an option.
    @Argument(
        parsing: .allUnrecognized, help: ArgumentHelp("The semaphore's index, then its new value.", valueName: "index value"))
    var indexAndValue: [String] = []

    @Option(help: ArgumentHelp("Every semaphore's value, one per semaphore.", valueName: "a,b,..."))
    var values: ValueList?

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if let notNumber = indexAndValue.first(where: { Int($0) == nil }) {
            throw ValidationError("'\(notNumber)' is not a number: give INDEX VALUE, as in `shm sem set ADDRESS 0 1`")
        }
        switch (indexAndValue.count, values) {
        case (2, nil), (0, .some): return
        case (0, nil): throw ValidationError("give INDEX VALUE, or --values a,b,...")
        case (_, .some): throw ValidationError("give INDEX VALUE or --values, not both")
        default: throw ValidationError("give exactly two numbers: the index, then the value")
        }
    }

    func run() throws {
        try reportingErrors {
            let set = try SystemVSemaphoreSet(
                address, mode: .open, initializationWait: .zero, trustedOwners: trust.owners)
            if let values {
                try set.setValues(values.values)
            } else {
                let numbers = indexAndValue.compactMap { Int($0) }
                try set.setValue(numbers[1], at: numbers[0])
            }
        }
    }
}
