#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import SystemPackage

// Reading and setting values, counts and ownership: `semctl` with one command each.
extension SystemVSemaphoreSet {
    /// The value of semaphore `index` (`semctl(GETVAL)`).
    public func value(at index: Int) throws(SharedMemoryError) -> Int {
        Int(try query(GETVAL, "semctl(GETVAL)", at: index))
    }

    /// Sets semaphore `index` to `value`, 0…32767 (`semctl(SETVAL)`); wakes waiters that can
    /// now go on, and clears every process's undo adjustment for that semaphore.
    public func setValue(_ value: Int, at index: Int) throws(SharedMemoryError) {
        try SemaphoreInput.checkIndex(index, count: count, operation: "semctl(SETVAL)", address)
        try SemaphoreInput.checkValue(value, at: index, operation: "semctl(SETVAL)", address)
        let id = self.id
        _ = try SystemCall.value { CSharedMemoryShims_semctl_value(id, Int32(index), SETVAL, Int32(value)) }
            .get("semctl(SETVAL)", semaphoreSet: address)
    }

    /// Every semaphore's value, in one consistent snapshot (`semctl(GETALL)`).
    public func values() throws(SharedMemoryError) -> [Int] {
        var shorts = [UInt16](repeating: 0, count: count)
        let id = self.id
        _ = try SystemCall.value { CSharedMemoryShims_semctl_array(id, GETALL, &shorts) }
            .get("semctl(GETALL)", semaphoreSet: address)
        return shorts.map { Int($0) }
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
        var shorts = values.map { UInt16($0) }
        let id = self.id
        _ = try SystemCall.value { CSharedMemoryShims_semctl_array(id, SETALL, &shorts) }
            .get("semctl(SETALL)", semaphoreSet: address)
    }

    /// How many processes wait for semaphore `index` to grow (`semctl(GETNCNT)`).
    public func waitingCount(at index: Int) throws(SharedMemoryError) -> Int {
        Int(try query(GETNCNT, "semctl(GETNCNT)", at: index))
    }

    /// How many processes wait for semaphore `index` to be 0 (`semctl(GETZCNT)`).
    public func zeroWaitingCount(at index: Int) throws(SharedMemoryError) -> Int {
        Int(try query(GETZCNT, "semctl(GETZCNT)", at: index))
    }

    /// The process that last operated on semaphore `index` (`semctl(GETPID)`); `nil` before
    /// any `semop` on it. The creator's initialising `semop` counts, for semaphore 0.
    public func lastProcessID(at index: Int) throws(SharedMemoryError) -> pid_t? {
        let pid = try query(GETPID, "semctl(GETPID)", at: index)
        return pid == 0 ? nil : pid
    }

    private func query(_ command: Int32, _ operation: StaticString, at index: Int) throws(SharedMemoryError) -> Int32 {
        try SemaphoreInput.checkIndex(index, count: count, operation: "\(operation)", address)
        let id = self.id
        return try SystemCall.value { CSharedMemoryShims_semctl(id, Int32(index), command) }
            .get(operation, semaphoreSet: address)
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
        let id = self.id
        // Plain `get`: EINVAL here can also mean an owner id the kernel does not accept.
        _ = try SystemCall.value { CSharedMemoryShims_semctl_status(id, IPC_SET, &status) }
            .get("semctl(IPC_SET)", address)
    }
}
