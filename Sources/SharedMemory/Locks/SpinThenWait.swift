/// Waiting for a futex word to change: spin a little first (a hand-over between processes on
/// different CPUs usually completes within microseconds, cheaper than a sleep and a wake-up),
/// then sleep in the kernel.
public struct SpinThenWait: Sendable, Hashable {
    /// How many times to re-read the word before sleeping.
    public var spins: Int

    /// A policy that re-reads `spins` times before sleeping.
    public init(spins: Int = 256) {
        self.spins = spins
    }

    /// Returns once `word` no longer holds `value`: `true`, or `false` if `timeout` passed first.
    public func wait(on word: FutexWord, whileValueIs value: UInt32, timeout: Duration? = nil)
        throws(SharedMemoryError) -> Bool
    {
        for _ in 0..<spins where word.load() != value {
            return true
        }
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while word.load() == value {
            let remaining = deadline.map { clock.now.duration(to: $0) }
            if let remaining, remaining <= .zero { return false }
            if try word.wait(whileValueIs: value, timeout: remaining) == .timedOut, word.load() == value {
                return false
            }
        }
        return true
    }
}
