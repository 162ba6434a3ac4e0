import SystemPackage

/// The one error type of the library: what failed, on which object, why, and what to do.
///
/// Every failure, whether bad input caught before any syscall or a syscall that failed,
/// is one of these. `code` is for programs; `description` is for people and always
/// carries a hint they can act on.
public struct SharedMemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is, independent of the backend.
    public enum Code: String, Sendable, Hashable {
        /// The address string is malformed or names an unknown backend.
        case invalidAddress
        /// A size is zero, negative, too large, or larger than the existing object.
        case invalidSize
        /// Some other argument (mode, offset, option) is not acceptable.
        case invalidArgument
        /// Exclusive creation found an object already there (`EEXIST`).
        case alreadyExists
        /// The object does not exist (`ENOENT`, or a System V key with no segment).
        case notFound
        /// The caller may not do this to the object (`EACCES`, `EPERM`).
        case permissionDenied
        /// The object belongs to a user this process does not trust: someone else may have
        /// created it under the expected name. See `SharedRegionOptions.trustedOwners`.
        case untrustedOwner
        /// A received memfd lacks seals the receiver demanded (`F_GET_SEALS`).
        case missingSeals
        /// The object is in use in a way that forbids this (`EBUSY`): `F_SEAL_WRITE` while
        /// a process maps the memory shared and writable.
        case busy
        /// The object exists but is not what this backend works with (a directory, a symlink).
        case wrongObjectType
        /// Writing through a read-only mapping.
        case readOnly
        /// An offset and count reach outside the region.
        case outOfBounds
        /// The backend or this machine cannot do what was asked; see the capability flags.
        case unsupported
        /// The filesystem or the kernel has no room left (`ENOSPC`, `ENOMEM`).
        case noSpace
        /// A system limit (`shmmax`, `shmmni`, open files) stands in the way.
        case limitExceeded
        /// The object exists but its creator never gave it a size within the wait.
        case notReady
        /// A value at an offset is not aligned as its type or the CPU's atomics need.
        case misaligned
        /// The region's header names another layout, version or size than the caller expects.
        case layoutMismatch
        /// A wait ended at its timeout (`ETIMEDOUT`, `EAGAIN` from a timed call).
        case timedOut
        /// A lock's owner died and nobody marked it consistent: it can never be locked again
        /// (`ENOTRECOVERABLE`).
        case notRecoverable
        /// The calling thread already holds the lock (`EDEADLK`).
        case deadlock
        /// A structure in shared memory holds a value it can never hold (a length larger than
        /// its container, a position outside it, a counter that ran backwards): another
        /// process wrote it, by bug or on purpose. Nothing was read or written outside the
        /// region; the message names the field and its value.
        case corrupted
        /// Another process made the object behind the mapping smaller (`ftruncate`), and a
        /// copying call (`read`, `write`, `load`, `store`, the ring's `send` and `receive`)
        /// reached the part that is gone: the kernel raised `SIGBUS` inside the library's copy,
        /// which turned it into this error. Raw pointers are not guarded. A memfd sealed against
        /// shrinking (`F_SEAL_SHRINK`) rules it out.
        case truncated
        /// The process on the other side died without detaching: every publisher of a waiting
        /// subscriber is gone and one died (what it sent was received first).
        case peerDied
        /// Any other failure of a C call; `errno` tells which.
        case systemError
    }

    /// What kind of failure this is; switch on it rather than on the message.
    public var code: Code
    /// The C call that failed (`shm_open`, `shmget`), or the library step that refused the input.
    public var operation: String
    /// The address as the caller gave it, when there is one.
    public var address: String?
    /// The `errno` of the failed call, when a call failed.
    public var errno: Errno?
    /// What is wrong, in a sentence.
    public var message: String
    /// What a person can do about it.
    public var hint: String

    /// An error with every field given; the library's own errors come with a message and a hint
    /// written for the case.
    public init(
        code: Code, operation: String, address: String? = nil, errno: Errno? = nil,
        message: String, hint: String
    ) {
        self.code = code
        self.operation = operation
        self.address = address
        self.errno = errno
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = "\(operation)"
        if let address { text += " \(address)" }
        text += ": \(message)"
        if let errno { text += " (\(errno.shortName), errno \(errno.rawValue))" }
        if !hint.isEmpty { text += "\nhint: \(hint)" }
        return text
    }
}

extension SharedMemoryError {
    /// An error for a failed C call, with the code and hint that `errno` implies.
    init(operation: String, address: RegionAddress?, errno: Errno) {
        let code = Code(errno)
        self.init(
            code: code, operation: operation, address: address?.description, errno: errno,
            message: errno.description,
            hint: ErrorHint.forFailedCall(code: code, operation: operation, address: address, errno: errno)
        )
    }

    static func invalidAddress(_ text: String, _ problem: String) -> SharedMemoryError {
        SharedMemoryError(
            code: .invalidAddress, operation: "parse address", address: text, message: problem,
            hint: "addresses look like posix:/NAME, sysv:KEY, sysv:ftok:/PATH#PROJ, sysv:id=SHMID, "
                + "sysv:private, file:/ABSOLUTE/PATH or memfd:NAME")
    }

    /// A field read from shared memory that fails its check: `field` held `value`, which
    /// breaks `rule`. The hint says who could have written it and what to do.
    static func corrupted(
        _ operation: String, _ address: RegionAddress?, field: String, value: some BinaryInteger, rule: String
    ) -> SharedMemoryError {
        SharedMemoryError(
            code: .corrupted, operation: operation, address: address?.description,
            message: "\(field) holds \(value), but \(rule)",
            hint: "another process with write access to this region wrote it (a bug or a hostile peer); "
                + "stop using this structure, and re-initialize it once every user has let go")
    }

    /// An address of one backend given to another backend's region type.
    static func wrongBackend(_ address: RegionAddress, expected: SharedRegionBackend) -> SharedMemoryError {
        invalidAddress(
            address.description,
            "this region type takes \(expected.rawValue): addresses, not \(address.backend.rawValue):")
    }

    /// A removal that found nothing there: the same error, with a hint that says so instead
    /// of the one to create the object first.
    func nothingToRemove(_ address: RegionAddress, listing: String) -> SharedMemoryError {
        var error = self
        error.hint = "nothing exists at \(address), so there is nothing to remove; \(listing) shows what exists"
        return error
    }

    static func unsupported(_ operation: String, _ address: RegionAddress?, _ problem: String, hint: String)
        -> SharedMemoryError
    {
        SharedMemoryError(
            code: .unsupported, operation: operation, address: address?.description, message: problem, hint: hint)
    }
}

extension SharedMemoryError.Code {
    init(_ errno: Errno) {
        switch errno {
        case .fileExists: self = .alreadyExists
        case .noSuchFileOrDirectory, .identifierRemoved: self = .notFound
        case .permissionDenied, .notPermitted, .readOnlyFileSystem: self = .permissionDenied
        case .noSpace, .noMemory, .fileTooLarge: self = .noSpace
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem: self = .limitExceeded
        case .isDirectory, .notDirectory, .tooManySymbolicLinkLevels, .noSuchAddressOrDevice: self = .wrongObjectType
        case .invalidArgument: self = .invalidArgument
        case .resourceBusy: self = .busy
        case .fileNameTooLong: self = .invalidAddress
        case .timedOut: self = .timedOut
        case .notRecoverable: self = .notRecoverable
        case .deadlock: self = .deadlock
        default: self = .systemError
        }
    }
}

extension Errno {
    /// The C name of the error (`EEXIST`), which is what people search for.
    var shortName: String {
        switch self {
        case .fileExists: "EEXIST"
        case .noSuchFileOrDirectory: "ENOENT"
        case .identifierRemoved: "EIDRM"
        case .permissionDenied: "EACCES"
        case .notPermitted: "EPERM"
        case .readOnlyFileSystem: "EROFS"
        case .noSpace: "ENOSPC"
        case .noMemory: "ENOMEM"
        case .fileTooLarge: "EFBIG"
        case .tooManyOpenFiles: "EMFILE"
        case .tooManyOpenFilesInSystem: "ENFILE"
        case .isDirectory: "EISDIR"
        case .notDirectory: "ENOTDIR"
        case .tooManySymbolicLinkLevels: "ELOOP"
        case .noSuchAddressOrDevice: "ENXIO"
        case .invalidArgument: "EINVAL"
        case .fileNameTooLong: "ENAMETOOLONG"
        case .badFileDescriptor: "EBADF"
        case .interrupted: "EINTR"
        case .resourceTemporarilyUnavailable: "EAGAIN"
        case .outOfRange: "ERANGE"
        case .notSupported: "EOPNOTSUPP"
        case .timedOut: "ETIMEDOUT"
        case .notRecoverable: "ENOTRECOVERABLE"
        case .previousOwnerDied: "EOWNERDEAD"
        case .deadlock: "EDEADLK"
        case .resourceBusy: "EBUSY"
        case .noSuchProcess: "ESRCH"
        default: "errno"
        }
    }
}
