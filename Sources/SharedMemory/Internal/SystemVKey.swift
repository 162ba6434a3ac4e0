#if canImport(Glibc)
import Glibc
#endif

/// How a `SystemVIdentifier` becomes a key or an id, the same for segments and semaphore sets.
extension SystemVIdentifier {
    /// Refuses `sysv:private` for anything but creation: open-or-create would make a new
    /// object every time, and there is nothing to open.
    func checkOpenMode(_ mode: SharedRegionOpenMode) throws(SharedMemoryError) {
        guard self == .private && mode != .create else { return }
        throw SharedMemoryError(
            code: .invalidArgument, operation: "\(mode)", address: RegionAddress.systemV(self).description,
            message: "sysv:private makes a new object and cannot be opened",
            hint: "create it with mode .create, then open it by the id it reports (sysv:id=N)")
    }

    /// The same identifier with an `ftok` path turned into its key: `ftok` `stat`s the path,
    /// so an open-or-create loop resolves it once, not at every turn.
    func resolvingFtok() throws(SharedMemoryError) -> SystemVIdentifier {
        guard case .ftok = self else { return self }
        return .key(try creationKey())
    }

    /// The key to create with: given, computed by `ftok`, or `IPC_PRIVATE`.
    func creationKey() throws(SharedMemoryError) -> key_t {
        let address = RegionAddress.systemV(self)
        switch self {
        case .key(let key):
            return key
        case .ftok(let path, let project):
            return try SystemCall.value { Glibc.ftok(path, Int32(project)) }.get("ftok", address)
        case .private:
            return IPC_PRIVATE
        case .id:
            throw SharedMemoryError(
                code: .invalidArgument, operation: "create", address: address.description,
                message: "sysv:id= names an existing object, so it can only be opened",
                hint: "create with sysv:KEY or sysv:private, then open with sysv:id=N")
        }
    }

    /// The id of the existing object: the one given, or what `lookUp(key)` finds
    /// (`shmget(key, 0, 0)`, `semget(key, 0, 0)`).
    func existingID(lookUp: (key_t) throws(SharedMemoryError) -> Int32) throws(SharedMemoryError) -> Int32 {
        switch self {
        case .id(let id):
            return id
        case .private:
            throw SharedMemoryError(
                code: .invalidArgument, operation: "open", address: RegionAddress.systemV(self).description,
                message: "sysv:private names no existing object",
                hint: "use the id the creator reports, as sysv:id=N")
        case .key, .ftok:
            return try lookUp(try creationKey())
        }
    }
}
