import CSharedMemoryShims

/// The kernel's System V semaphore limits, as `/proc/sys/kernel/sem` lists them.
public struct SemaphoreLimits: Sendable, Hashable {
    /// `SEMMSL`: the most semaphores one set may hold.
    public var semaphoresPerSet: Int
    /// `SEMMNS`: the most semaphores in all sets of the system together.
    public var semaphoresInSystem: Int
    /// `SEMOPM`: the most operations one `semop` call may apply.
    public var operationsPerCall: Int
    /// `SEMMNI`: the most semaphore sets in the system.
    public var sets: Int

    /// `SEMVMX`: the largest value a semaphore holds, 32767, fixed in the kernel.
    public static let maximumValue = Int(CSharedMemoryShims_SEMVMX)

    /// The limits in force now (`/proc/sys/kernel/sem`: SEMMSL SEMMNS SEMOPM SEMMNI);
    /// `nil` where that file cannot be read, and then the kernel's own checks answer.
    public static func current() -> SemaphoreLimits? {
        guard let text = SystemFile.contents("/proc/sys/kernel/sem") else { return nil }
        let numbers = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard numbers.count == 4 else { return nil }
        return SemaphoreLimits(
            semaphoresPerSet: numbers[0], semaphoresInSystem: numbers[1], operationsPerCall: numbers[2],
            sets: numbers[3])
    }
}
