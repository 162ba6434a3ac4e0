
/// The four mechanisms, as values: what each can do, whether this machine has it, and how
/// one logical name maps to each one's native address.
public enum SharedRegionBackend: String, CaseIterable, Sendable, Hashable, Codable {
    /// System V segments: `shmget`, `shmat`, `shmdt`, `shmctl`.
    case systemV = "sysv"
    /// POSIX shared memory: `shm_open` + `mmap`, objects in `/dev/shm`.
    case posix
    /// A regular file mapped with `mmap(MAP_SHARED)`.
    case file
    /// An anonymous memory file from `memfd_create`, shared by passing its descriptor.
    case memfd

    /// What a backend can do; asking one for what it cannot do is a typed `.unsupported` error.
    public struct Capabilities: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// Another process can open the object by its address.
        public static let named = Capabilities(rawValue: 1 << 0)
        /// The object outlives every process that used it, until removed (or reboot).
        public static let persistent = Capabilities(rawValue: 1 << 1)
        /// The object can change size after creation (`resize(to:)`).
        public static let resizable = Capabilities(rawValue: 1 << 2)
        /// `status()` reports how many processes have it attached, and which created it.
        public static let reportsAttachCount = Capabilities(rawValue: 1 << 3)
        /// The contents survive a reboot.
        public static let survivesReboot = Capabilities(rawValue: 1 << 4)
    }

    /// What this mechanism can do on any kernel (naming, persistence, resizing...).
    public var capabilities: Capabilities { driver.capabilities }

    /// The name people use for the mechanism.
    public var displayName: String { driver.displayName }

    /// Whether this machine offers the mechanism (a kernel built without System V IPC, a
    /// container without `/dev/shm`, a kernel older than `memfd_create`).
    public var isAvailable: Bool { driver.isAvailable }

    /// The backends this machine offers, in declaration order.
    public static var available: [SharedRegionBackend] { allCases.filter(\.isAvailable) }

    /// Parses `sysv`, `posix`, `file` or `memfd` (also `systemV`; any case).
    public init(parsing text: String) throws(SharedMemoryError) {
        let aliases: [String: SharedRegionBackend] = ["systemv": .systemV, "system-v": .systemV, "shm_open": .posix]
        let lowered = text.lowercased()
        guard let backend = SharedRegionBackend(rawValue: lowered) ?? aliases[lowered] else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "backend", address: nil,
                message: "unknown backend '\(text)'", hint: "choose one of sysv, posix, file, memfd")
        }
        self = backend
    }

    /// The backend named by the environment variable `SHARED_MEMORY_BACKEND`, if it is set.
    public static func fromEnvironment(_ variable: String = "SHARED_MEMORY_BACKEND") throws(SharedMemoryError)
        -> SharedRegionBackend?
    {
        guard let value = Environment.value(variable), !value.isEmpty else { return nil }
        return try SharedRegionBackend(parsing: value)
    }

    /// This backend's native address for one logical name, so one program runs over any backend.
    ///
    /// `"orders"` becomes `posix:/orders`, `sysv:0x…` (a 32-bit FNV-1a hash of the name),
    /// `file:$TMPDIR/orders.shm` (`/tmp` without `TMPDIR`) and `memfd:orders`.
    public func address(forName name: String) throws(SharedMemoryError) -> RegionAddress {
        try RegionAddress.validatePOSIXName(name, in: name)
        return try driver.address(forName: name)
    }
}

extension SharedRegionBackend: LosslessStringConvertible {
    public init?(_ description: String) {
        guard let backend = try? SharedRegionBackend(parsing: description) else { return nil }
        self = backend
    }

    public var description: String { rawValue }
}

/// Where the file backend puts regions named by `address(forName:)`.
enum FileLocation {
    static var directory: String {
        guard let value = Environment.value("TMPDIR"), value.hasPrefix("/") else { return "/tmp" }
        return value.count > 1 && value.hasSuffix("/") ? String(value.dropLast()) : value
    }
}
