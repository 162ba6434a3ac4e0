/// What a region initialized once holds, recorded in a 64-byte header in front of the
/// payload, so that a process never mistakes another program's region, or another version
/// of its own layout, for the one it expects.
///
/// Header (little-endian, one cache line):
///
/// | offset | field |
/// |---|---|
/// | 0 | identifier, `UInt64`: `"SHML"` and the FNV-1a hash of the layout's name |
/// | 8 | state, `UInt64`, atomic: phase (bits 0–1), the pid that set it (bits 2–31; the low half is the futex word) and the low 32 bits of that process's start time (bits 32–63, so a reused pid, or a peer's lie, is not taken for it) |
/// | 16 | reserved, 0 |
/// | 24 | version, `UInt32` |
/// | 28 | initializer runs, `UInt32`: more than 1 after a takeover from a dead initializer |
/// | 32 | payload size, `UInt64` |
public struct RegionLayout: Sendable, Hashable {
    /// Identifies the layout; written last by the initializer, checked by every opener.
    public let identifier: UInt64
    /// Bumped whenever the payload's format changes; openers demand an exact match.
    public let version: UInt32
    /// The bytes after the header: `0...(Int.max - headerByteCount)`, checked when made.
    public let payloadByteCount: Int

    /// The header's size; the payload starts at this offset, 64-byte aligned.
    public static let headerByteCount = 64

    /// A layout named by a string (hashed into the identifier with FNV-1a).
    ///
    /// - Throws: `.invalidSize` when `payloadByteCount` is negative, or so large that header
    ///   and payload together overflow `Int`.
    public init(name: String, version: UInt32, payloadByteCount: Int) throws(SharedMemoryError) {
        try self.init(
            identifier: 0x5348_4D4C_0000_0000 | UInt64(FNV1a.hash(name)), version: version,
            payloadByteCount: payloadByteCount)
    }

    /// A layout with an identifier of the caller's choosing.
    ///
    /// - Throws: `.invalidSize` when `payloadByteCount` is negative, or so large that header
    ///   and payload together overflow `Int`.
    public init(identifier: UInt64, version: UInt32, payloadByteCount: Int) throws(SharedMemoryError) {
        guard payloadByteCount >= 0, payloadByteCount <= Int.max - Self.headerByteCount else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "RegionLayout",
                message: "a payload of \(payloadByteCount) bytes is "
                    + (payloadByteCount < 0 ? "negative" : "too large for a region (with its 64-byte header)"),
                hint: "give payloadByteCount from 0 to \(Int.max - Self.headerByteCount)")
        }
        self.identifier = identifier
        self.version = version
        self.payloadByteCount = payloadByteCount
    }

    /// Header and payload: the region's size.
    public var totalByteCount: Int { Self.headerByteCount + payloadByteCount }

    enum Field {
        static let identifier = 0
        static let state = 8
        static let version = 24
        static let initializerRuns = 28
        static let payloadByteCount = 32
    }

    /// The phase in the low 2 bits of the state word.
    enum Phase: UInt32 {
        case empty = 0
        case initializing = 1
        case ready = 2
    }
}

/// A region whose payload some process initialized exactly once, as `RegionLayout` says.
public struct InitializedRegion: Sendable {
    /// The region, mapped; the payload starts at `payloadOffset`.
    public let region: any SharedRegion
    /// The layout its header carries.
    public let layout: RegionLayout
    /// Whether this call ran the initializer (first, or taking over from a dead initializer).
    public let initializedHere: Bool

    /// Where the payload starts in `region`.
    public var payloadOffset: Int { RegionLayout.headerByteCount }
}
