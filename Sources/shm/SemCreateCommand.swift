import ArgumentParser
import SharedMemory

struct SemCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a semaphore set and print its address (sysv:private prints sysv:id=N).",
        discussion: "Fails if a set already exists at the address; the values start at 0 unless --values says.")

    @Argument(help: "The set's address, such as sysv:0x5e3a or sysv:private.", transform: parseSemaphoreAddress)
    var address: RegionAddress

    @Option(help: "How many semaphores the set holds (1…SEMMSL); may be left out when --values is given.")
    var count: Int?

    @Option(help: ArgumentHelp("Initial values, one per semaphore, each 0…32767.", valueName: "a,b,..."))
    var values: ValueList?

    @Option(help: "Permission bits in octal, as chmod takes them.")
    var permissions: Permissions = Permissions(argument: "600")!

    func validate() throws {
        if count == nil && values == nil { throw ValidationError("give --count N, or --values a,b,...") }
    }

    func run() throws {
        try reportingErrors {
            let set = try SystemVSemaphoreSet(
                address, count: count, mode: .create, permissions: permissions.permissions, initialValues: values?.values)
            Output.line(set.address.description)
        }
    }
}
