import SystemPackage

extension SharedMemory {
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
    ///   - options: as for `SharedMemory.open`.
    ///   - timeout: how long to wait for a live initializer before `.timedOut`.
    ///   - initializer: fills the payload, starting at `payloadOffset`; if it throws, the
    ///     region goes back to uninitialized and the error is rethrown.
    public static func openOrCreate(
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
            let (phase, owner) = try header.state()
            switch phase {
            case .ready:
                try header.validate()
                return InitializedRegion(region: region, layout: layout, initializedHere: false)
            case .empty:
                if header.claim(from: 0, by: me) {
                    return try header.initialize(by: me, region: region, zeroing: false, initializer)
                }
            case .initializing:
                let current = ProcessIdentity(pid: owner, startTime: header.ownerStartTime)
                if !current.isAlive {
                    if header.claim(from: LayoutHeader.state(.initializing, owner), by: me) {
                        return try header.initialize(by: me, region: region, zeroing: true, initializer)
                    }
                    continue
                }
                guard clock.now < deadline else {
                    throw SharedMemoryError(
                        code: .timedOut, operation: "openOrCreate", address: address.description,
                        message: "process \(owner) is still initializing the region after \(timeout)",
                        hint: "its initializer may be stuck; pass a longer timeout, or end process \(owner)")
                }
                // Sleep until the phase changes, waking now and then to check the initializer lives.
                _ = try header.phaseWord.wait(whileValueIs: LayoutHeader.Phase.initializing.rawValue, timeout: .milliseconds(50))
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
    // little-endian): a sleeper waits on the phase, a claimer swaps phase and pid at once.
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

    static func state(_ phase: Phase, _ pid: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: pid)) << 32 | UInt64(phase.rawValue)
    }

    func state() throws(SharedMemoryError) -> (Phase, Int32) {
        let state = stateWord.withAtomic { $0.load(ordering: .acquiring) }
        guard let phase = Phase(rawValue: UInt32(truncatingIfNeeded: state)) else {
            throw mismatch("its header holds no initialization state this library writes")
        }
        return (phase, Int32(bitPattern: UInt32(truncatingIfNeeded: state >> 32)))
    }

    var ownerStartTime: UInt64 { (try? region.load(UInt64.self, at: RegionLayout.Field.ownerStartTime)) ?? 0 }

    /// Takes the initializer's role if the state is still `expected`.
    func claim(from expected: UInt64, by me: ProcessIdentity) -> Bool {
        stateWord.withAtomic {
            $0.compareExchange(expected: expected, desired: Self.state(.initializing, me.pid), ordering: .acquiringAndReleasing)
                .exchanged
        }
    }

    /// Runs `initializer` as the claimant, then publishes the header and wakes the sleepers.
    func initialize(
        by me: ProcessIdentity, region: any SharedRegion, zeroing: Bool, _ initializer: (InitializedRegion) throws -> Void
    ) throws -> InitializedRegion {
        try region.store(me.startTime, at: RegionLayout.Field.ownerStartTime)
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
            stateWord.withAtomic { $0.store(0, ordering: .releasing) }
            phaseWord.wakeAll()
            throw error
        }
        try region.store(layout.version, at: RegionLayout.Field.version)
        try region.store(UInt64(layout.payloadByteCount), at: RegionLayout.Field.payloadByteCount)
        try region.store(layout.identifier, at: RegionLayout.Field.identifier)
        stateWord.withAtomic { $0.store(Self.state(.ready, me.pid), ordering: .releasing) }
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
