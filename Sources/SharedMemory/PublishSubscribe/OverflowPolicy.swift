/// What a publisher does when a subscriber's queue is full: the service's choice, fixed when
/// the service is created and the same for every port.
public enum OverflowPolicy: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The publisher waits (`futex(FUTEX_WAIT)`, with the timeout `send` was given) until the
    /// subscriber takes a sample: nothing is lost, a slow subscriber slows the publisher.
    case block = 1
    /// The publisher takes the subscriber's oldest sample out of its queue and returns it to the
    /// pool: the publisher never waits, a slow subscriber loses the oldest samples.
    case discardOldest = 2

    /// `block` or `discard-oldest`, as the command line spells them.
    public var description: String {
        switch self {
        case .block: "block"
        case .discardOldest: "discard-oldest"
        }
    }

    /// Parses `block` or `discard-oldest`.
    public init?(_ text: String) {
        guard let policy = Self.allCases.first(where: { $0.description == text }) else { return nil }
        self = policy
    }
}
