import SystemPackage

extension Result where Failure == Errno {
    /// As `get`, except that a set which is gone says so: `EIDRM` (removed while this call
    /// waited) or `EINVAL` (no set has this id any more; the other arguments were checked).
    func get(_ operation: StaticString, semaphoreSet address: RegionAddress) throws(SharedMemoryError) -> Success {
        switch self {
        case .failure(let error) where error == .identifierRemoved || error == .invalidArgument:
            throw SharedMemoryError(
                code: .notFound, operation: "\(operation)", address: address.description, errno: error,
                message: error == .identifierRemoved
                    ? "the semaphore set was removed while waiting"
                    : "no semaphore set exists with this id (it was removed, or never existed)",
                hint: "a process removed it (IPC_RMID, `shm sem remove`), or the id is wrong: `ipcs -s` lists "
                    + "the sets there are; create one again (`shm sem create sysv:KEY --count N`) to go on")
        default:
            return try get(operation, address)
        }
    }
}
