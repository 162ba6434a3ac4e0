/// Create, open, or open-or-create, the same way for every named backend.
enum OpenProcedure {
    /// Runs `create` or `open` as `mode` says. Open-or-create tries an exclusive create and
    /// falls back to open, so two processes never both believe they created the object; an
    /// object removed between the two steps, or removed by another process right after this
    /// one created it (System V: `EIDRM` between `shmget` and `shmat`, or `semget` and
    /// `SETALL`), just sends the loop round again.
    static func run<Handle>(
        _ mode: SharedRegionOpenMode, size: Int?, address: RegionAddress,
        create: () throws(SharedMemoryError) -> Handle,
        open: () throws(SharedMemoryError) -> Handle
    ) throws(SharedMemoryError) -> (handle: Handle, created: Bool) {
        switch mode {
        case .create:
            return (try create(), true)
        case .open:
            return (try open(), false)
        case .openOrCreate where size == nil:
            // Without a size there is nothing to create: this can only open.
            return (try open(), false)
        case .openOrCreate:
            for _ in 0..<100 {
                do { return (try create(), true) } catch where error.code == .alreadyExists || error.vanished {}
                do { return (try open(), false) } catch where error.code == .notFound {}
            }
            throw SharedMemoryError(
                code: .notReady, operation: "openOrCreate", address: address.description,
                message: "the name was created and removed by others 100 times while this call tried to use it",
                hint: "another program is creating and removing this name in a loop; coordinate with it")
        }
    }

    /// The size a creation needs.
    static func sizeForCreating(_ size: Int?, _ address: RegionAddress) throws(SharedMemoryError) -> Int {
        guard let size else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "create", address: address.description,
                message: "creating a region needs a size", hint: "pass size: in bytes (shm create --size)")
        }
        try RegionSize.validate(size, address)
        return size
    }
}

extension SharedMemoryError {
    /// A System V id that was removed under this call (`EIDRM`, or an `EINVAL` that
    /// `vanishedID` or `get(_:semaphoreSet:)` made `.notFound`): worth another round of
    /// open-or-create. A POSIX or file `ENOENT` on creation (a missing directory) is final.
    var vanished: Bool { code == .notFound && (errno == .identifierRemoved || errno == .invalidArgument) }
}
