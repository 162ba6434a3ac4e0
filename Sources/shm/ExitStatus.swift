import ArgumentParser

/// The exit statuses that mean something other than success or error, the same in every
/// command that can wait (`shm sem op`, `shm publish`, `shm subscribe`, `shm listen`), so a
/// script tests one number whichever command it ran.
extension ExitCode {
    /// 2: the operation would have had to wait and `--nowait` forbade it.
    static let wouldBlock = ExitCode(2)
    /// 3: `--timeout` passed before the operation could finish.
    static let timedOut = ExitCode(3)
}
