import ArgumentParser
import SharedMemory

struct SemOpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "op",
        abstract: "Apply operations to a semaphore set, all at once or none (semop).",
        discussion: """
            Each operation is INDEX:DELTA. A negative delta waits until the semaphore is at least \
            that much and takes it; a positive one adds (+ is optional); 0 waits until it is 0. \
            `shm sem op sysv:0x5e3a 0:-1 1:-1` takes one from semaphores 0 and 1 together.

            With --undo the kernel reverts the operations when this command exits, that is at once: \
            `0:-1 --undo` waits until semaphore 0 is free without keeping it.

            Exit status: 0 applied, 1 error, 2 would block (--nowait), 3 timed out (--timeout).
            """)

    @Argument(help: "The set's address.", transform: parseSemaphoreAddress)
    var address: RegionAddress

    @Argument(help: ArgumentHelp("Operations, such as 0:-1 (wait and take), 0:+1 (give), 0:0 (wait for 0).",
                                 valueName: "index:delta"))
    var operations: [OperationArgument] = []

    @Flag(help: "Do not wait: exit with status 2 if the operations cannot be applied now (IPC_NOWAIT).")
    var nowait = false

    @Flag(help: "Let the kernel revert the operations when this command exits (SEM_UNDO).")
    var undo = false

    @Option(
        parsing: .unconditional,  // so that "-1" is read as a value and refused with a reason
        help: ArgumentHelp(
        "Give up after this many seconds (fractions allowed) with status 3 (semtimedop).", valueName: "seconds"))
    var timeout: Double?

    @OptionGroup var trust: TrustOptions

    func validate() throws {
        if operations.isEmpty { throw ValidationError("give at least one operation, such as 0:-1") }
        if let timeout, !(timeout.isFinite && (0...1e9).contains(timeout)) {
            throw ValidationError("--timeout takes seconds from 0 to 1000000000")
        }
    }

    func run() throws {
        try reportingErrors {
            let set = try SystemVSemaphoreSet(address, mode: .open, trustedOwners: trust.owners)
            var flags: SemaphoreOperation.Flags = []
            if nowait { flags.insert(.noWait) }
            if undo { flags.insert(.undo) }
            let result = try set.apply(
                operations.map { SemaphoreOperation(index: $0.index, delta: $0.delta, flags: flags) },
                timeout: timeout.map { .seconds($0) })
            switch result {
            case .applied:
                return
            case .wouldBlock:
                Output.error("shm: \(address): would block: the operations cannot be applied now, and --nowait was given")
                throw ExitCode.wouldBlock
            case .timedOut:
                Output.error("shm: \(address): timed out after \(timeout ?? 0) seconds; nothing was applied")
                throw ExitCode.timedOut
            }
        }
    }
}

/// One operation as `INDEX:DELTA`: `0:-1`, `1:+2`, `0:0`.
struct OperationArgument: ExpressibleByArgument {
    let index: Int
    let delta: Int

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let delta = Int(parts[1]) else { return nil }
        self.index = index
        self.delta = delta
    }
}
