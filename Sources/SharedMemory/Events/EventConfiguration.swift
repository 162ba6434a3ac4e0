/// The static configuration of an event service: fixed when the service's region is created,
/// recorded in it, and checked against what every later opener asks for.
public struct EventConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// How many notifiers may be attached at once: 1 to `maximumPorts`.
    public var maxNotifiers: Int
    /// How many listeners may be attached at once: 1 to `maximumPorts`.
    public var maxListeners: Int
    /// The largest event id a notifier may signal: 0 to `maximumEventID`. Each listener keeps one
    /// bit per id, so ids 0 ... `maxEventID` cost `(maxEventID + 1) / 8` bytes per listener.
    public var maxEventID: Int

    /// The largest `maxNotifiers` and `maxListeners`.
    public static let maximumPorts = 256
    /// The largest `maxEventID`.
    public static let maximumEventID = 4095

    /// A configuration; `validate()` checks it (every service call does).
    public init(maxNotifiers: Int = 4, maxListeners: Int = 8, maxEventID: Int = 63) {
        self.maxNotifiers = maxNotifiers
        self.maxListeners = maxListeners
        self.maxEventID = maxEventID
    }

    /// `4 notifiers, 8 listeners, event ids 0...63`
    public var description: String {
        "\(maxNotifiers) notifiers, \(maxListeners) listeners, event ids 0...\(maxEventID)"
    }

    /// Checks every field's range.
    ///
    /// - Throws: `.invalidArgument` naming the field, its value and the range it must lie in.
    public func validate() throws(SharedMemoryError) {
        func check(_ value: Int, _ field: String, _ range: ClosedRange<Int>) throws(SharedMemoryError) {
            guard range.contains(value) else {
                throw SharedMemoryError(
                    code: .invalidArgument, operation: "EventConfiguration",
                    message: "\(field) is \(value), but it must be from \(range.lowerBound) to \(range.upperBound)",
                    hint: "give \(field) from \(range.lowerBound) to \(range.upperBound)")
            }
        }
        try check(maxNotifiers, "maxNotifiers", 1...Self.maximumPorts)
        try check(maxListeners, "maxListeners", 1...Self.maximumPorts)
        try check(maxEventID, "maxEventID", 0...Self.maximumEventID)
    }
}
