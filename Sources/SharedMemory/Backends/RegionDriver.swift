import SystemPackage

/// Everything the rest of the library asks of one mechanism, answered in one place: a fifth
/// mechanism is one more driver, not an edit of every `switch` in the library.
///
/// The driver is looked up once from the address (`RegionAddress.backend.driver`); the region
/// types themselves (`SystemVRegion`, ...) stay the public face of each mechanism.
protocol RegionDriver: Sendable {
    /// What the mechanism can do on any kernel.
    var capabilities: SharedRegionBackend.Capabilities { get }
    /// The name people use for the mechanism ("System V").
    var displayName: String { get }
    /// Whether this machine offers the mechanism.
    var isAvailable: Bool { get }
    /// The mechanism's native address for one logical name (already checked as a POSIX name).
    func address(forName name: String) throws(SharedMemoryError) -> RegionAddress
    /// Creates or opens the region at `address`, of this driver's backend.
    func open(
        _ address: RegionAddress, size: Int?, mode: SharedRegionOpenMode, access: SharedRegionAccess,
        permissions: FilePermissions, options: SharedRegionOptions
    ) throws(SharedMemoryError) -> any SharedRegion
    /// Removes the object without mapping it.
    func remove(_ address: RegionAddress) throws(SharedMemoryError)
    /// What the kernel reports about the object, without mapping it.
    func status(of address: RegionAddress) throws(SharedMemoryError) -> SharedRegionStatus
    /// Refuses `hugePages` where the mechanism cannot have them on this machine.
    func checkHugePages(_ address: RegionAddress) throws(SharedMemoryError)
    /// Bytes a creation can still reserve, and where they come from, for checks and hints;
    /// `nil` where the kernel's own limits decide (System V).
    func room(for address: RegionAddress) -> (bytes: Int, place: String)?
    /// Who owns the object and with which mode, for permission hints; `nil` if not visible.
    func ownership(of address: RegionAddress, semaphoreSet: Bool) -> String?
    /// What to do when the kernel or the filesystem has no room for a creation.
    func noSpaceHint(_ address: RegionAddress) -> String
}

extension RegionDriver {
    func noSpaceHint(_ address: RegionAddress) -> String {
        let room = self.room(for: address).map { "\($0.place) has \($0.bytes) bytes available" }
        return "no room left: " + (room ?? "the filesystem is full") + "; free space there or ask for less"
    }
}

extension SharedRegionBackend {
    /// The one place that maps a backend to its driver.
    var driver: any RegionDriver {
        switch self {
        case .systemV: SystemVDriver()
        case .posix: POSIXDriver()
        case .file: MappedFileDriver()
        case .memfd: MemfdDriver()
        }
    }
}
