import ArgumentParser
import SharedMemory

/// `--count` and `--timeout` of the commands that wait for what others send (`shm listen`,
/// `shm subscribe`): when to stop, and the exit status 3 when the time is up.
struct ReceiveLimits: ParsableArguments {
    @Option(help: "Exit after this many.")
    var count: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Exit with status 3 once this many seconds pass (over all of them).", valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count takes a number from 0 up") }
        if let timeout, !(timeout.isFinite && (0...1e9).contains(timeout)) {
            throw ValidationError("--timeout takes seconds from 0 to 1000000000")
        }
    }

    /// When `--timeout` ends, counted from now; `nil` without one.
    func deadline() -> ContinuousClock.Instant? { timeout.map { .now + .seconds($0) } }

    /// What is left of `deadline` (never negative), as a wait's timeout.
    func remaining(_ deadline: ContinuousClock.Instant?) -> Duration? {
        deadline.map { max(ContinuousClock.now.duration(to: $0), .zero) }
    }

    func wantsMore(after received: Int) -> Bool { count.map { received < $0 } ?? true }

    /// Says what arrived before the time ran out and exits with status 3.
    func timedOut(_ address: RegionAddress, received: Int, _ things: String) -> ExitCode {
        Output.error("shm: \(address): timed out after \(timeout ?? 0) seconds, \(received) \(things) received")
        return .timedOut
    }
}
