/// What a listener learned in one wait: the event ids fired since its previous wait, each once
/// however often it fired, and the changes among the service's ports.
public struct FiredEvents: Sendable, Hashable {
    /// The ids, in increasing order.
    public var eventIDs: [Int] = []
    /// Ports that attached, left or died since the previous wait.
    public var portChanges: PortChanges = []

    /// Nothing fired and no port changed.
    public var isEmpty: Bool { eventIDs.isEmpty && portChanges.isEmpty }

    /// Nothing.
    public init() {}
}

/// Changes among an event service's ports, posted to every listener besides the user's event
/// ids (as separate flags, so every id stays the user's); and changes among a publish-subscribe
/// service's publishers, posted to every subscriber (`Subscriber.publisherChanges()`).
///
/// - `attached`: a notifier or another listener attached (a publisher).
/// - `left`: one detached (its object was released).
/// - `died`: a port's process was found gone (`kill(pid, 0)` and its start time in `/proc`).
///   The kernel tells nobody of a death: it is found when a port attaches, by a port that has
///   slept half a second (a listener or subscriber waiting, a publisher waiting for room), and
///   by `cleanDeadPorts()` (`shm remove --stale`).
public struct PortChanges: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    /// Makes a set from its bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A notifier or listener attached.
    public static let attached = PortChanges(rawValue: 1 << 0)
    /// A notifier or listener detached.
    public static let left = PortChanges(rawValue: 1 << 1)
    /// A notifier or listener's process was found dead, and its slot freed.
    public static let died = PortChanges(rawValue: 1 << 2)
    static let all: PortChanges = [.attached, .left, .died]
}
