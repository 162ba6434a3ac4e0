import SystemPackage

/// Names one shared-memory object and the mechanism behind it, as one string.
///
/// | address | meaning |
/// |---|---|
/// | `posix:/NAME` | `shm_open("/NAME")`; NAME has no `/`, 1…255 bytes |
/// | `sysv:KEY` | `shmget(KEY)`; KEY `0x` and 1–8 hex digits, or decimal 1…4294967295 without sign or leading zero |
/// | `sysv:ftok:/PATH#PROJ` | key from `ftok(PATH, PROJ)`, PROJ 1…255 |
/// | `sysv:id=SHMID` | an existing segment by id |
/// | `sysv:private` | create only: `IPC_PRIVATE`; the region then reports `sysv:id=N` |
/// | `file:/ABSOLUTE/PATH` | a regular file, mapped `MAP_SHARED` |
/// | `memfd:NAME` | create only: `memfd_create`; others get it by descriptor passing |
///
/// Native names are used verbatim, so a C program calling `shm_open("/orders")` or
/// `shmget(0x366378)` meets the same object.
public enum RegionAddress: Hashable, Sendable {
    /// A POSIX shared-memory object; `name` is what `shm_open` takes, with its leading `/`
    /// (`"/orders"`), as `POSIXRegion.name` is.
    case posix(name: String)
    /// A System V segment (or, for semaphore sets, a set) identified as `SystemVIdentifier` says.
    case systemV(SystemVIdentifier)
    /// A regular file at an absolute path.
    case file(path: FilePath)
    /// An anonymous `memfd_create` file; `name` only labels it in `/proc`.
    case memfd(name: String)

    /// The backend that serves this address.
    public var backend: SharedRegionBackend {
        switch self {
        case .posix: .posix
        case .systemV: .systemV
        case .file: .file
        case .memfd: .memfd
        }
    }

    /// Parses an address, with a typed error that says what is wrong.
    public init(parsing text: String) throws(SharedMemoryError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw .invalidAddress(text, "an address starts with its backend, such as posix: or sysv:")
        }
        let scheme = text[..<colon]
        let rest = String(text[text.index(after: colon)...])
        switch scheme {
        case "posix":
            guard rest.hasPrefix("/") else {
                throw .invalidAddress(text, "a POSIX name starts with '/', as in posix:/orders")
            }
            try Self.validatePOSIXName(String(rest.dropFirst()), in: text)
            self = .posix(name: rest)
        case "sysv":
            self = .systemV(try SystemVIdentifier(parsing: rest, in: text))
        case "file":
            self = .file(path: try Self.validatedAbsolutePath(rest, in: text))
        case "memfd":
            try Self.validateMemfdName(rest, in: text)
            self = .memfd(name: rest)
        default:
            throw .invalidAddress(
                text, "unknown backend prefix '\(scheme)'; known ones are posix:, sysv:, file: and memfd:")
        }
    }

    static func validatePOSIXName(_ name: String, in text: String) throws(SharedMemoryError) {
        guard !name.isEmpty else { throw .invalidAddress(text, "the POSIX name after '/' is empty") }
        guard !name.contains("/") else {
            throw .invalidAddress(text, "a POSIX name may not contain '/' after the leading one")
        }
        guard name.utf8.count <= 255 else {
            throw .invalidAddress(text, "a POSIX name is at most 255 bytes; this one has \(name.utf8.count)")
        }
        guard name != ".", name != ".." else { throw .invalidAddress(text, "'\(name)' is not a usable name") }
        guard !name.utf8.contains(0) else { throw .invalidAddress(text, "a name may not contain a NUL byte") }
    }

    static func validatedAbsolutePath(_ path: String, in text: String) throws(SharedMemoryError) -> FilePath {
        guard path.hasPrefix("/") else {
            throw .invalidAddress(text, "a file path must be absolute, as in file:/var/tmp/orders")
        }
        guard !path.utf8.contains(0) else { throw .invalidAddress(text, "a path may not contain a NUL byte") }
        guard path.utf8.count < 4096 else { throw .invalidAddress(text, "a path is at most 4095 bytes (PATH_MAX)") }
        let filePath = FilePath(path)
        guard let last = filePath.lastComponent, last.kind == .regular, !path.hasSuffix("/") else {
            throw .invalidAddress(text, "the path must end with a file name, not '/', '.' or '..'")
        }
        if let long = filePath.components.first(where: { $0.string.utf8.count > 255 }) {
            throw .invalidAddress(text, "the path component '\(long.string.prefix(20))…' is over 255 bytes")
        }
        return filePath
    }

    static func validateMemfdName(_ name: String, in text: String) throws(SharedMemoryError) {
        guard !name.isEmpty else { throw .invalidAddress(text, "a memfd name may not be empty, as in memfd:orders") }
        // memfd_create(2): the name is at most 249 bytes, the kernel adds the "memfd:" prefix.
        guard name.utf8.count <= 249 else {
            throw .invalidAddress(text, "a memfd name is at most 249 bytes; this one has \(name.utf8.count)")
        }
        guard !name.contains("/") else { throw .invalidAddress(text, "a memfd name may not contain '/'") }
        guard !name.utf8.contains(0) else { throw .invalidAddress(text, "a name may not contain a NUL byte") }
    }
}

extension RegionAddress: LosslessStringConvertible {
    public init?(_ description: String) {
        guard let address = try? RegionAddress(parsing: description) else { return nil }
        self = address
    }

    public var description: String {
        switch self {
        case .posix(let name): "posix:\(name)"
        case .systemV(let identifier): "sysv:\(identifier)"
        case .file(let path): "file:\(path.string)"
        case .memfd(let name): "memfd:\(name)"
        }
    }
}

extension RegionAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try RegionAddress(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
