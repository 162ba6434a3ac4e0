#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import SharedMemory
import Synchronization

/// What a comparison made, removed however the run ends.
///
/// SIGINT and SIGTERM are set to be ignored (so the processes this run starts, which inherit
/// that, finish their current step instead of dying mid-handshake) and watched: the first
/// one makes the run stop at the next measurement boundary and clean up; a second one
/// removes everything at once and exits.
final class CleanUp: @unchecked Sendable {
    // @unchecked: `sources` is set once and only cancelled by `finish`; the rest is locked or atomic.
    private let made = Mutex<[RegionAddress]>([])
    private let interruptedFlag = Atomic<Bool>(false)
    private let sources: [any DispatchSourceSignal]

    private init(sources: [any DispatchSourceSignal]) {
        self.sources = sources
    }

    static func install() throws -> CleanUp {
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: number, queue: .global())
        }
        let cleanUp = CleanUp(sources: sources)
        for source in sources {
            source.setEventHandler { [weak cleanUp] in
                guard let cleanUp else { return }
                if cleanUp.interruptedFlag.exchange(true, ordering: .relaxed) {
                    cleanUp.removeAll()
                    _exit(130)
                }
            }
            source.resume()
        }
        return cleanUp
    }

    /// Whether a signal asked the run to stop.
    var interrupted: Bool { interruptedFlag.load(ordering: .relaxed) }

    /// Throws if the run was asked to stop: called between measurements.
    func checkpoint() throws {
        if interrupted { throw Comparison.Interrupted() }
    }

    /// Remembers an object to remove at the end.
    func register(_ address: RegionAddress) {
        made.withLock { $0.append(address) }
    }

    /// Removes what is left, restores the signals' default handling.
    func finish() {
        removeAll()
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private func removeAll() {
        let addresses = made.withLock { made in
            defer { made = [] }
            return made
        }
        for address in addresses { try? SharedRegions.remove(address) }
    }
}

extension Comparison {
    /// The run stopped at a signal; everything it made has been removed.
    public struct Interrupted: Error, CustomStringConvertible {
        public var description: String { "interrupted: everything this run made has been removed" }
    }
}
