/// The word that says who holds a port slot: 0 when free; for an attached port, the process's
/// pid (bits 2–31), the low 32 bits of its start time (bits 32–63) and 1 (bits 0–1). One word, so
/// one atomic store claims or frees the slot, and a reader never pairs one process's pid with
/// another's start time. With the start time, a pid the kernel reused is not taken for the port's.
struct PortRecord: Hashable {
    var pid: Int32
    var startTimeLowBits: UInt32

    init(_ process: ProcessIdentity) {
        pid = process.pid
        startTimeLowBits = process.startTimeLowBits
    }

    /// `nil` for a free slot.
    ///
    /// - Throws: `.corrupted` for a word this library never writes.
    init?(
        word: UInt64, address: RegionAddress, field: @autoclosure () -> String,
        operation: String = "PublishSubscribeService"
    ) throws(SharedMemoryError) {
        if word == 0 { return nil }
        let pid = Int32(truncatingIfNeeded: (word >> 2) & 0x3FFF_FFFF)
        guard word & 0b11 == 1, pid > 0 else {
            throw .corrupted(
                operation, address, field: field(), value: word,
                rule: "a port word is 0, or a pid above 0 in bits 2-31 with 1 in bits 0-1")
        }
        self.pid = pid
        startTimeLowBits = UInt32(truncatingIfNeeded: word >> 32)
    }

    var word: UInt64 {
        UInt64(startTimeLowBits) << 32 | UInt64(UInt32(bitPattern: pid) & 0x3FFF_FFFF) << 2 | 1
    }

    /// How long a port sleeps at most (a subscriber or listener waiting, a publisher waiting for
    /// room) before it looks for ports whose processes died: deaths are found by looking, since
    /// the kernel tells nobody, and a sleeper must not wait forever for a dead peer.
    static let deathCheckInterval = Duration.milliseconds(500)

    /// Whether the process still runs (`kill(pid, 0)` and its start time in `/proc`).
    var isAlive: Bool { ProcessIdentity.isAlive(pid: pid, startTimeLowBits: startTimeLowBits) }
}
