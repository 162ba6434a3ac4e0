#if canImport(Glibc)
import Glibc
#endif

/// Checks what a caller passes for a semaphore set before any call, so bad input is a typed
/// error that says what to do, and nothing is made or changed.
enum SemaphoreInput {
    /// Read once per process: `apply` checks against it on every call, and a lock taken in a
    /// loop must not read a file each time. If an administrator changes the limits later,
    /// the kernel's own checks (EINVAL, E2BIG) still hold.
    static let limits = SemaphoreLimits.current()

    /// The semaphore set an address names; only `sysv:` addresses have them.
    static func identifier(of address: RegionAddress) throws(SharedMemoryError) -> SystemVIdentifier {
        guard case .systemV(let identifier) = address else {
            throw .unsupported(
                "semget", address, "semaphore sets are System V objects; \(address.backend) has none",
                hint: "use a sysv: address (sysv:KEY, sysv:ftok:/PATH#PROJ, sysv:private, sysv:id=N)")
        }
        return identifier
    }

    /// The number of semaphores asked for, from `count` or else from the initial values;
    /// `nil` when neither says (open only).
    static func count(_ count: Int?, initialValues: [Int]?, _ address: RegionAddress)
        throws(SharedMemoryError) -> Int?
    {
        guard let wanted = count ?? initialValues?.count else { return nil }
        let limit = limits?.semaphoresPerSet ?? Int(Int32.max)
        guard wanted >= 1 else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "semget", address: address.description,
                message: "a semaphore set holds at least one semaphore; \(wanted) were asked",
                hint: "pass count: between 1 and \(limit) (SEMMSL), as in `shm sem create ADDRESS --count 1`")
        }
        guard wanted <= limit else {
            throw SharedMemoryError(
                code: .limitExceeded, operation: "semget", address: address.description,
                message: "\(wanted) semaphores is more than one set may hold (SEMMSL \(limit))",
                hint: "ask for at most \(limit), or raise SEMMSL, the first number of `sysctl kernel.sem`")
        }
        if let initialValues {
            guard initialValues.count == wanted else {
                throw SharedMemoryError(
                    code: .invalidArgument, operation: "semget", address: address.description,
                    message: "\(initialValues.count) initial values for a set of \(wanted) semaphores",
                    hint: "give exactly one initial value per semaphore")
            }
            for (index, value) in initialValues.enumerated() {
                try checkValue(value, at: index, operation: "semctl(SETALL)", address)
            }
        }
        return wanted
    }

    static func countForCreating(_ count: Int?, _ address: RegionAddress) throws(SharedMemoryError) -> Int {
        guard let count else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "semget", address: address.description,
                message: "creating a semaphore set needs the number of semaphores",
                hint: "pass count: (shm sem create ADDRESS --count N)")
        }
        return count
    }

    static func checkValue(_ value: Int, at index: Int, operation: String, _ address: RegionAddress)
        throws(SharedMemoryError)
    {
        guard (0...SemaphoreLimits.maximumValue).contains(value) else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: operation, address: address.description,
                message: "value \(value) for semaphore \(index) is outside 0…\(SemaphoreLimits.maximumValue)",
                hint: "a System V semaphore holds 0…\(SemaphoreLimits.maximumValue) (SEMVMX)")
        }
    }

    static func checkIndex(_ index: Int, count: Int, operation: String, _ address: RegionAddress)
        throws(SharedMemoryError)
    {
        guard (0..<count).contains(index) else {
            throw SharedMemoryError(
                code: .outOfBounds, operation: operation, address: address.description,
                message: "semaphore index \(index) is outside the set's 0…\(count - 1)",
                hint: "the set holds \(count) semaphore\(count == 1 ? "" : "s"), numbered from 0")
        }
    }

    /// The operations as `semop` takes them, each checked against the set and the limits.
    static func sembufs(_ operations: [SemaphoreOperation], count: Int, _ address: RegionAddress)
        throws(SharedMemoryError) -> [sembuf]
    {
        guard !operations.isEmpty else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "semop", address: address.description,
                message: "there are no operations to apply",
                hint: "pass at least one SemaphoreOperation, such as .wait(0) or .signal(0)")
        }
        if let limit = limits?.operationsPerCall, operations.count > limit {
            throw SharedMemoryError(
                code: .limitExceeded, operation: "semop", address: address.description,
                message: "\(operations.count) operations in one call is more than SEMOPM (\(limit)) allows",
                hint: "apply at most \(limit) at once, or raise SEMOPM, the third number of `sysctl kernel.sem`")
        }
        var buffers: [sembuf] = []
        buffers.reserveCapacity(operations.count)
        for operation in operations {
            try checkIndex(operation.index, count: count, operation: "semop", address)
            let largest = SemaphoreLimits.maximumValue
            guard (-largest...largest).contains(operation.delta) else {
                throw SharedMemoryError(
                    code: .invalidArgument, operation: "semop", address: address.description,
                    message: "delta \(operation.delta) for semaphore \(operation.index) is outside "
                        + "-\(largest)…\(largest)",
                    hint: "sem_op is a C short and a semaphore holds at most \(largest) (SEMVMX): "
                        + "split a larger change into several operations")
            }
            buffers.append(
                sembuf(sem_num: UInt16(operation.index), sem_op: Int16(operation.delta), sem_flg: operation.flags.rawValue))
        }
        return buffers
    }

    static func checkTimeout(_ timeout: Duration?, _ address: RegionAddress) throws(SharedMemoryError) {
        guard let timeout, timeout < .zero else { return }
        throw SharedMemoryError(
            code: .invalidArgument, operation: "semtimedop", address: address.description,
            message: "the timeout \(timeout) is negative",
            hint: "pass a timeout of zero or more, or nil to wait as long as it takes")
    }
}
