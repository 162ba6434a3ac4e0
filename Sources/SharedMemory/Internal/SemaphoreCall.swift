#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import SystemPackage

/// The System V semaphore calls, one wrapper each: the only place that calls `semget`,
/// `semctl` and `semtimedop`. `semctl`'s variadic union argument is passed by the C shim.
enum SemaphoreCall {
    /// `semget(key, count, IPC_CREAT | IPC_EXCL | mode)`: `mode` may carry bits beyond 0777
    /// (the library's initialising mark).
    static func create(key: Int32, count: Int, mode: UInt32) -> Result<Int32, Errno> {
        SystemCall.value { semget(key, Int32(count), IPC_CREAT | IPC_EXCL | Int32(mode)) }
    }

    /// `semget(key, 0, 0)`: the id of the set that exists under `key`.
    static func find(key: Int32) -> Result<Int32, Errno> {
        SystemCall.value { semget(key, 0, 0) }
    }

    /// What `semctl` can read of one semaphore.
    enum Query {
        /// `GETVAL`: its value.
        case value
        /// `GETNCNT`: processes waiting for it to grow.
        case waitingForIncrease
        /// `GETZCNT`: processes waiting for it to be zero.
        case waitingForZero
        /// `GETPID`: the last process to operate on it.
        case lastProcessID

        var command: Int32 {
            switch self {
            case .value: GETVAL
            case .waitingForIncrease: GETNCNT
            case .waitingForZero: GETZCNT
            case .lastProcessID: GETPID
            }
        }
    }

    /// `semctl(id, index, GETVAL | GETNCNT | GETZCNT | GETPID)`.
    static func query(_ id: Int32, _ index: Int, _ query: Query) -> Result<Int32, Errno> {
        SystemCall.value { CSharedMemoryShims_semctl(id, Int32(index), query.command) }
    }

    /// `semctl(id, index, SETVAL, value)`.
    static func setValue(_ id: Int32, _ index: Int, _ value: Int) -> Result<Void, Errno> {
        SystemCall.value { CSharedMemoryShims_semctl_value(id, Int32(index), SETVAL, Int32(value)) }.map { _ in () }
    }

    /// `semctl(id, 0, GETALL, values)`: every value, in order.
    static func values(_ id: Int32, count: Int) -> Result<[UInt16], Errno> {
        var values = [UInt16](repeating: 0, count: count)
        return SystemCall.value { CSharedMemoryShims_semctl_array(id, GETALL, &values) }.map { _ in values }
    }

    /// `semctl(id, 0, SETALL, values)`.
    static func setValues(_ id: Int32, _ values: [UInt16]) -> Result<Void, Errno> {
        var values = values
        return SystemCall.value { CSharedMemoryShims_semctl_array(id, SETALL, &values) }.map { _ in () }
    }

    /// `semctl(id, 0, IPC_STAT)`.
    static func status(_ id: Int32) -> Result<semid_ds, Errno> {
        var status = semid_ds()
        return SystemCall.value { CSharedMemoryShims_semctl_status(id, IPC_STAT, &status) }.map { _ in status }
    }

    /// `semctl(id, 0, IPC_SET)`: mode and owner from `status`.
    static func set(_ id: Int32, _ status: semid_ds) -> Result<Void, Errno> {
        var status = status
        return SystemCall.value { CSharedMemoryShims_semctl_status(id, IPC_SET, &status) }.map { _ in () }
    }

    /// `semctl(id, 0, IPC_RMID)`: every waiter wakes with `EIDRM`.
    static func remove(_ id: Int32) -> Result<Void, Errno> {
        SystemCall.value { CSharedMemoryShims_semctl(id, 0, IPC_RMID) }.map { _ in () }
    }

    /// `semtimedop`, all operations at once or none, waiting at most `timeout` (none: for ever).
    /// Not retried on `EINTR`: the caller recomputes what is left of its deadline.
    static func operate(_ id: Int32, _ operations: inout [sembuf], timeout: Duration?) -> Result<Void, Errno> {
        operations.withUnsafeMutableBufferPointer { buffers in
            SystemCall.value(retryingInterrupts: false) {
                guard let timeout else { return CSharedMemoryShims_semtimedop(id, buffers.baseAddress, buffers.count, nil) }
                var relative = timespec(timeout)
                return CSharedMemoryShims_semtimedop(id, buffers.baseAddress, buffers.count, &relative)
            }.map { _ in () }
        }
    }
}
