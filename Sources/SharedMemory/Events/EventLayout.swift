/// Where everything of an event service lies in its region, computed from the configuration
/// (never from offsets stored in the region). Offsets are from the region's start; the service
/// begins after the 64-byte header of `RegionLayout` (Docs/Events.md).
///
/// | part | contents |
/// |---|---|
/// | configuration | 64 bytes: maxNotifiers, maxListeners, maxEventID (u32 each) |
/// | notifier ports | 64 bytes each: the port word (`PortRecord`) |
/// | listener ports | per listener 64 bytes (port word u64, sleeping flag u32, wake word u32, port changes u32), then its fired ids, one bit per id in u64 words, rounded up to 64 bytes |
struct EventLayout: Sendable {
    let configuration: EventConfiguration
    let configurationOffset: Int
    let notifierPortsOffset: Int
    let listenerPortsOffset: Int
    let listenerStride: Int
    /// The u64 words of each listener's set of fired ids.
    let eventWordCount: Int
    /// The region's size: the header and everything above.
    let totalByteCount: Int

    static let portStride = 64
    static let layoutName = "SharedMemory.Events"
    static let layoutVersion: UInt32 = 1

    /// A port's fields, from its slot's start.
    enum Port {
        static let word = 0
        static let sleeping = 8
        static let wake = 12
        static let portChanges = 16
        static let events = 64
    }

    /// The configuration block's fields.
    enum Field {
        static let maxNotifiers = 0
        static let maxListeners = 4
        static let maxEventID = 8
    }

    /// - Throws: `.invalidArgument` for a configuration out of range.
    init(_ configuration: EventConfiguration) throws(SharedMemoryError) {
        try configuration.validate()
        self.configuration = configuration
        eventWordCount = configuration.maxEventID / 64 + 1
        configurationOffset = RegionLayout.headerByteCount
        notifierPortsOffset = configurationOffset + 64
        listenerPortsOffset = notifierPortsOffset + configuration.maxNotifiers * Self.portStride
        listenerStride = Port.events + (eventWordCount * 8 + 63) / 64 * 64
        totalByteCount = listenerPortsOffset + configuration.maxListeners * listenerStride
    }

    func notifierPort(_ index: Int) -> Int { notifierPortsOffset + index * Self.portStride }
    func listenerPort(_ index: Int) -> Int { listenerPortsOffset + index * listenerStride }

    /// The header `SharedRegions.openInitialized` records for an event service.
    var regionLayout: RegionLayout {
        get throws(SharedMemoryError) {
            try RegionLayout(
                name: Self.layoutName, version: Self.layoutVersion,
                payloadByteCount: totalByteCount - RegionLayout.headerByteCount)
        }
    }

    /// Writes the configuration block (the initializer's only step: every port starts zeroed).
    func writeConfiguration(in region: any SharedRegion) throws(SharedMemoryError) {
        try region.store(UInt32(configuration.maxNotifiers), at: configurationOffset + Field.maxNotifiers)
        try region.store(UInt32(configuration.maxListeners), at: configurationOffset + Field.maxListeners)
        try region.store(UInt32(configuration.maxEventID), at: configurationOffset + Field.maxEventID)
    }

    /// The configuration a region records, every field checked (a peer may have written any).
    ///
    /// - Throws: `.corrupted` naming the first field out of range; `.outOfBounds` if the region
    ///   is too small to hold the block.
    static func storedConfiguration(in region: any SharedRegion) throws(SharedMemoryError) -> EventConfiguration {
        let base = RegionLayout.headerByteCount
        func field(_ offset: Int, _ name: String, _ range: ClosedRange<Int>) throws(SharedMemoryError) -> Int {
            let value = try region.load(UInt32.self, at: base + offset)
            guard range.contains(Int(value)) else {
                throw .corrupted(
                    "EventService.open", region.address, field: name, value: value,
                    rule: "it must be from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int(value)
        }
        return EventConfiguration(
            maxNotifiers: try field(Field.maxNotifiers, "maxNotifiers", 1...EventConfiguration.maximumPorts),
            maxListeners: try field(Field.maxListeners, "maxListeners", 1...EventConfiguration.maximumPorts),
            maxEventID: try field(Field.maxEventID, "maxEventID", 0...EventConfiguration.maximumEventID))
    }
}
