#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Hints for failed calls: what a person can do about them, with the facts that help
/// (the owner and mode of an object they may not open, the free space that ran out).
enum ErrorHint {
    static func forFailedCall(
        code: SharedMemoryError.Code, operation: String, address: RegionAddress?, errno: Errno
    ) -> String {
        let name = address?.description ?? "the object"
        // semget, semop, semtimedop, semctl(...): a semaphore set, which the `shm sem` verbs handle.
        let semaphores = operation.hasPrefix("sem")
        switch code {
        case .alreadyExists where semaphores:
            return "\(name) already exists: open it with mode .openOrCreate, "
                + "or remove it first with `shm sem remove \(name)`"
        case .alreadyExists:
            return "\(name) already exists: open it with mode .openOrCreate (shm create --open-or-create), "
                + "or remove it first with `shm remove \(name)`"
        case .notFound:
            if case .systemV(.ftok(let path, _)) = address, operation == "ftok" {
                return "ftok needs \(path) to exist: create that file, or use a plain sysv:KEY"
            }
            if semaphores {
                return "no semaphore set exists at \(name): create it first "
                    + "(mode .create, or `shm sem create \(name) --count N`)"
            }
            return "nothing exists at \(name): create it first (mode .create, or `shm create \(name) --size BYTES`)"
        case .permissionDenied:
            let owner = address.flatMap { $0.backend.driver.ownership(of: $0, semaphoreSet: semaphores) }
                ?? "its owner and mode are not visible to you"
            return "\(name): \(owner); ask the owner to widen the mode, open it read-only, or run as its owner"
        case .noSpace where semaphores:
            return "the kernel has no room for more semaphores: see the limits in /proc/sys/kernel/sem "
                + "(SEMMSL SEMMNS SEMOPM SEMMNI), and `ipcs -s` for sets left behind"
        case .noSpace:
            return address.map { $0.backend.driver.noSpaceHint($0) } ?? "no room left: free some, or ask for less"
        case .limitExceeded:
            return "too many open files: close some, or raise the limit (ulimit -n)"
        case .wrongObjectType:
            if errno == .tooManySymbolicLinkLevels {
                return "\(name) is a symbolic link, which is refused so nobody can redirect the mapping: "
                    + "give the real path"
            }
            return "\(name) is not a regular file (a directory?): give the path of a regular file"
        case .invalidArgument where address?.backend == .systemV && operation == "shmget":
            let maximum = SystemVLimits.current().shmmax.map { "\($0)" } ?? "?"
            return "the size must be within 1…shmmax (\(maximum)) and not larger than an existing segment's"
        default:
            return "see `man \(operation)` for what \(errno.shortName) means here"
        }
    }
}

/// Who owns an object and with which mode, for permission hints.
enum ObjectOwnership {
    static func describeFile(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return owned(uid: info.st_uid, mode: info.st_mode & 0o7777)
    }

    /// From `/proc/sysvipc/shm` (or `sem`), which lists every segment (or semaphore set) with
    /// its key, id, mode and owner even to those who may not `IPC_STAT` it.
    static func describeSystemV(_ identifier: SystemVIdentifier, semaphoreSet: Bool) -> String? {
        let objects: [(key: Int32, id: Int32, uid: UInt32, mode: UInt32)] =
            semaphoreSet
            ? SystemVTable.semaphoreSets().map { ($0.key, $0.id, $0.uid, $0.mode) }
            : SystemVTable.segments().map { ($0.key, $0.id, $0.uid, $0.mode) }
        let object = objects.first { object in
            switch identifier {
            case .key(let wanted): object.key == wanted
            case .id(let wanted): object.id == wanted
            case .ftok, .private: false
            }
        }
        return object.map { owned(uid: $0.uid, mode: $0.mode) }
    }

    static func owned(uid: UInt32, mode: UInt32) -> String {
        let user = getpwuid(uid).flatMap { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)"
        return "it belongs to \(user) (uid \(uid)) with mode \(FilePermissions(rawValue: mode).octal), and you are uid \(getuid())"
    }
}
