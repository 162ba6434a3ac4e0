#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

// Reading and setting values, counts and ownership: `semctl` with one command each.
extension SystemVSemaphoreSet {
    /// The value of semaphore `index` (`semctl(GETVAL)`).
    public func value(at index: Int) throws(SharedMemoryError) -> Int {
        Int(try query(.value, "semctl(GETVAL)", at: index))
    }

    /// Sets semaphore `index` to `value`, 0…32767 (`semctl(SETVAL)`); wakes waiters that can
    /// now go on, and clears every process's undo adjustment for that semaphore.
    public func setValue(_ value: Int, at index: Int) throws(SharedMemoryError) {
        try SemaphoreInput.checkIndex(index, count: count, operation: "semctl(SETVAL)", address)
        try SemaphoreInput.checkValue(value, at: index, operation: "semctl(SETVAL)", address)
        try SemaphoreCall.setValue(id, index, value).get("semctl(SETVAL)", semaphoreSet: address)
    }

    /// Every semaphore's value, in one consistent snapshot (`semctl(GETALL)`).
    public func values() throws(SharedMemoryError) -> [Int] {
        try SemaphoreCall.values(id, count: count).get("semctl(GETALL)", semaphoreSet: address).map { Int($0) }
    }

    /// Sets every semaphore at once, one value (0…32767) per semaphore (`semctl(SETALL)`);
    /// clears every process's undo adjustments for the set.
    public func setValues(_ values: [Int]) throws(SharedMemoryError) {
        guard values.count == count else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "semctl(SETALL)", address: address.description,
                message: "\(values.count) values for a set of \(count) semaphores",
                hint: "give exactly one value per semaphore, or set one with setValue(_:at:)")
        }
        for (index, value) in values.enumerated() {
            try SemaphoreInput.checkValue(value, at: index, operation: "semctl(SETALL)", address)
        }
        try SemaphoreCall.setValues(id, values.map { UInt16($0) }).get("semctl(SETALL)", semaphoreSet: address)
    }

    /// How many processes wait for semaphore `index` to grow (`semctl(GETNCNT)`).
    public func waitingCount(at index: Int) throws(SharedMemoryError) -> Int {
        Int(try query(.waitingForIncrease, "semctl(GETNCNT)", at: index))
    }

    /// How many processes wait for semaphore `index` to be 0 (`semctl(GETZCNT)`).
    public func zeroWaitingCount(at index: Int) throws(SharedMemoryError) -> Int {
        Int(try query(.waitingForZero, "semctl(GETZCNT)", at: index))
    }

    /// The process that last operated on semaphore `index` (`semctl(GETPID)`); `nil` before
    /// any `semop` on it. The creator's initialising `semop` counts, for semaphore 0.
    public func lastProcessID(at index: Int) throws(SharedMemoryError) -> pid_t? {
        let pid = try query(.lastProcessID, "semctl(GETPID)", at: index)
        return pid == 0 ? nil : pid
    }

    private func query(_ query: SemaphoreCall.Query, _ operation: StaticString, at index: Int) throws(SharedMemoryError)
        -> Int32
    {
        try SemaphoreInput.checkIndex(index, count: count, operation: "\(operation)", address)
        return try SemaphoreCall.query(id, index, query).get(operation, semaphoreSet: address)
    }

    /// Mode, owner, creator, size and times (`semctl(IPC_STAT)`).
    public func status() throws(SharedMemoryError) -> SemaphoreSetStatus {
        SemaphoreSetStatus(try Self.kernelStatus(id, address), address: address)
    }

    /// Changes the set's mode (`semctl(IPC_SET)`); owner, creator or root only.
    public func setPermissions(_ permissions: FilePermissions) throws(SharedMemoryError) {
        try set { $0.sem_perm.mode = permissions.rawValue & 0o777 }
    }

    /// Gives the set to another user and group (`semctl(IPC_SET)`); owner, creator or root only.
    public func setOwner(userID: UInt32, groupID: UInt32) throws(SharedMemoryError) {
        try set {
            $0.sem_perm.uid = userID
            $0.sem_perm.gid = groupID
        }
    }

    private func set(_ change: (inout semid_ds) -> Void) throws(SharedMemoryError) {
        var status = try Self.kernelStatus(id, address)
        change(&status)
        // Plain `get`: EINVAL here can also mean an owner id the kernel does not accept.
        try SemaphoreCall.set(id, status).get("semctl(IPC_SET)", address)
    }
}
