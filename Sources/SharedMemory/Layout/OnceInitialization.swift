import SystemPackage

extension SharedRegions {
    /// Opens or creates a region whose payload is initialized exactly once, whichever of
    /// several racing processes gets there first.
    ///
    /// One process wins the header's state word (an atomic compare-and-swap) and runs
    /// `initializer`; every other opener sleeps on that word (`futex`) until the payload is
    /// ready, so nobody ever sees it half-initialized. If the initializing process dies,
    /// the next opener notices (its pid is gone, or now belongs to a process with another
    /// start time), takes over, zeroes the payload and runs `initializer` itself. A region
    /// whose header names another layout or version is a `.layoutMismatch` error, not garbage.
    ///
    /// - Parameters:
    ///   - address: any named backend's address (a memfd cannot be opened by others).
    ///   - layout: the identifier, version and payload size the header must carry.
    ///   - permissions: the mode of a created object; 0600 by default.
    ///   - options: as for `SharedRegions.open`.
    ///   - timeout: how long to wait for a live initializer before `.timedOut`.
    ///   - initializer: fills the payload, starting at `payloadOffset`; if it throws, the
    ///     region goes back to uninitialized and the error is rethrown.
    public static func openInitialized(
        _ address: RegionAddress, layout: RegionLayout, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default, timeout: Duration = .seconds(10),
        initializer: (InitializedRegion) throws -> Void
    ) throws -> InitializedRegion {
        let region = try open(
            address, size: layout.totalByteCount, mode: .openOrCreate, permissions: permissions, options: options)
        let header = try LayoutHeader(region: region, layout: layout)
        let me = ProcessIdentity.current
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let state = try header.state()
            switch state.phase {
            case .ready:
                try header.validate()
                return InitializedRegion(region: region, layout: layout, initializedHere: false)
            case .empty:
                if header.claim(from: state, by: me) {
                    return try header.initialize(by: me, region: region, zeroing: false, initializer)
                }
            case .initializing:
                // Gone, or alive with another start time (a reused pid, or a peer that wrote
                // "initializing by pid 1"): not the claimant, so take over as from a dead one.
                if !ProcessIdentity.isAlive(pid: state.pid, startTimeLowBits: state.startTimeLowBits) {
                    if header.claim(from: state, by: me) {
                        return try header.initialize(by: me, region: region, zeroing: true, initializer)
                    }
                } else if clock.now < deadline {
                    // Sleep until the state changes, waking now and then to check the initializer lives.
                    _ = try header.phaseWord.wait(whileValueIs: state.futexValue, timeout: .milliseconds(50))
                    continue
                }
            }
            // A live initializer past the deadline, or a lost claim: a state word that keeps
            // changing under every claim (racing openers, or a peer writing it) ends at the deadline too.
            guard clock.now < deadline else {
                throw SharedMemoryError(
                    code: .timedOut, operation: "openOrCreate", address: address.description,
                    message: "process \(state.pid) is still initializing the region after \(timeout)",
                    hint: "its initializer may be stuck; pass a longer timeout, or end process \(state.pid)")
            }
        }
    }
}

/// The header of a region initialized once (see `RegionLayout`), read and written atomically.
struct LayoutHeader {
    typealias Phase = RegionLayout.Phase
    let layout: RegionLayout
    let address: RegionAddress
    let stateWord: SharedAtomic<UInt64>
    // The futex word is the low half of the state word (Linux on x86-64 and AArch64 is
    // little-endian), phase and pid: a sleeper waits on it, a claimer swaps the whole word.
    let phaseWord: FutexWord
    let runs: SharedAtomic<UInt32>
    let region: any SharedRegion

    init(region: any SharedRegion, layout: RegionLayout) throws(SharedMemoryError) {
        self.region = region
        self.layout = layout
        self.address = region.address
        stateWord = try SharedAtomic(in: region, at: RegionLayout.Field.state)
        phaseWord = try FutexWord(in: region, at: RegionLayout.Field.state)
        runs = try SharedAtomic(in: region, at: RegionLayout.Field.initializerRuns)
    }

    /// The state word: phase (bits 0–1), the pid of the process that set it (bits 2–31) and
    /// the low 32 bits of that process's start time (bits 32–63). One word, so one
    /// compare-and-swap claims it whole and an opener never pairs one process's pid with
    /// another's start time.
    struct State: Equatable {
        var phase: Phase
        var pid: Int32
        var startTimeLowBits: UInt32

        static let empty = State(phase: .empty, pid: 0, startTimeLowBits: 0)

        init(phase: Phase, pid: Int32, startTimeLowBits: UInt32) {
            (self.phase, self.pid, self.startTimeLowBits) = (phase, pid, startTimeLowBits)
        }

        init(_ phase: Phase, by process: ProcessIdentity) {
            self.init(phase: phase, pid: process.pid, startTimeLowBits: process.startTimeLowBits)
        }

        /// `nil` for a word this library never writes: phase 3, or empty with bits set.
        init?(word: UInt64) {
            guard let phase = Phase(rawValue: UInt32(word & 0b11)) else { return nil }
            self.init(
                phase: phase, pid: Int32(truncatingIfNeeded: (word >> 2) & 0x3FFF_FFFF),
                startTimeLowBits: UInt32(truncatingIfNeeded: word >> 32))
            if phase == .empty && word != 0 { return nil }
        }

        var word: UInt64 {
            // Linux pids are below 2^22 (PID_MAX_LIMIT): 30 bits hold any.
            UInt64(startTimeLowBits) << 32 | UInt64(UInt32(bitPattern: pid) & 0x3FFF_FFFF) << 2
                | UInt64(phase.rawValue)
        }

        /// The low half: what the futex compares.
        var futexValue: UInt32 { UInt32(truncatingIfNeeded: word) }
    }

    func state() throws(SharedMemoryError) -> State {
        let word = stateWord.withAtomic { $0.load(ordering: .acquiring) }
        guard let state = State(word: word) else {
            throw mismatch("its header holds no initialization state this library writes (0x\(String(word, radix: 16)))")
        }
        return state
    }

    /// Takes the initializer's role if the state is still `expected`.
    func claim(from expected: State, by me: ProcessIdentity) -> Bool {
        stateWord.withAtomic {
            $0.compareExchange(
                expected: expected.word, desired: State(.initializing, by: me).word, ordering: .acquiringAndReleasing
            ).exchanged
        }
    }

    /// Runs `initializer` as the claimant, then publishes the header and wakes the sleepers.
    func initialize(
        by me: ProcessIdentity, region: any SharedRegion, zeroing: Bool, _ initializer: (InitializedRegion) throws -> Void
    ) throws -> InitializedRegion {
        runs.withAtomic { _ = $0.wrappingAdd(1, ordering: .relaxed) }
        let result = InitializedRegion(region: region, layout: layout, initializedHere: true)
        do {
            if zeroing {
                try region.withUnsafeMutableBytes { bytes in
                    let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[RegionLayout.headerByteCount...])
                    _ = payload.initializeMemory(as: UInt8.self, repeating: 0)
                }
            }
            try initializer(result)
        } catch {
            stateWord.withAtomic { $0.store(State.empty.word, ordering: .releasing) }
            phaseWord.wakeAll()
            throw error
        }
        try region.store(layout.version, at: RegionLayout.Field.version)
        try region.store(UInt64(layout.payloadByteCount), at: RegionLayout.Field.payloadByteCount)
        try region.store(layout.identifier, at: RegionLayout.Field.identifier)
        stateWord.withAtomic { $0.store(State(.ready, by: me).word, ordering: .releasing) }
        phaseWord.wakeAll()
        return result
    }

    /// Checks a ready header against the layout the caller expects.
    func validate() throws(SharedMemoryError) {
        let identifier = try region.load(UInt64.self, at: RegionLayout.Field.identifier)
        let version = try region.load(UInt32.self, at: RegionLayout.Field.version)
        let payload = try region.load(UInt64.self, at: RegionLayout.Field.payloadByteCount)
        guard identifier == layout.identifier else {
            throw mismatch("its layout identifier is 0x\(String(identifier, radix: 16)), not 0x\(String(layout.identifier, radix: 16))")
        }
        guard version == layout.version else {
            throw mismatch("it holds layout version \(version), not \(layout.version)")
        }
        guard payload == UInt64(layout.payloadByteCount) else {
            throw mismatch("its payload is \(payload) bytes, not \(layout.payloadByteCount)")
        }
    }

    private func mismatch(_ problem: String) -> SharedMemoryError {
        SharedMemoryError(
            code: .layoutMismatch, operation: "openOrCreate", address: address.description,
            message: "the region is not the layout expected: \(problem)",
            hint: "another program or version made it: use another address, or remove it (`shm remove \(address)`) "
                + "once nothing uses it")
    }
}
