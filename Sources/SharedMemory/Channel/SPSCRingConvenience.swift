import SystemPackage

// The calls a new user reaches for first: a ring by name, made by whichever side comes first,
// and messages as byte collections. Each is built on the raw-buffer calls beside it.

extension SPSCRing {
    /// The layout `openingOrCreating` records in the region's header, so that a region made for
    /// another purpose, or a ring of another capacity, is refused rather than misread.
    static func layout(capacity: Int) throws(SharedMemoryError) -> RegionLayout {
        try RegionLayout(name: "SharedMemory.SPSCRing", version: 3, payloadByteCount: byteCount(capacity: capacity))
    }

    /// Opens the region at `address` holding a ring of `capacity` bytes, creating it and
    /// initializing the ring first if no process has: race-free, whichever side starts first
    /// (`SharedRegions.openInitialized(_:layout:initializer:)`, then `SPSCRing.initialize`).
    /// The ring sits after a 64-byte header that names it.
    static func openInitialized(
        _ address: RegionAddress, capacity: Int, permissions: FilePermissions, options: SharedRegionOptions
    ) throws -> InitializedRegion {
        try SharedRegions.openInitialized(
            address, layout: layout(capacity: capacity), permissions: permissions, options: options
        ) { made in
            try SPSCRing.initialize(in: made.region, at: made.payloadOffset, capacity: capacity)
        }
    }
}

extension SPSCRing.Producer {
    /// Attaches to the ring at `address` as its producer, creating the region and the ring first
    /// if the consumer has not: both sides may start in either order. Calls `shm_open`,
    /// `shmget` or `open` and `mmap` as `SharedRegions.openInitialized(_:layout:initializer:)` does.
    ///
    /// - Parameters:
    ///   - address: a named backend's address (`"posix:/orders"`); both sides give the same.
    ///   - capacity: data bytes, a power of two from 64 to 2^31; both sides give the same
    ///     (messages may be up to `capacity / 2 - 8` bytes).
    ///   - permissions: the mode of a created object; 0600 by default.
    ///   - options: as for `SharedRegions.open`.
    /// - Throws: `SharedMemoryError`: `.layoutMismatch` if the region there holds something else
    ///   or a ring of another capacity; as `init(in:at:)` does.
    public init(
        openingOrCreating address: RegionAddress, capacity: Int, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws {
        let made = try SPSCRing.openInitialized(address, capacity: capacity, permissions: permissions, options: options)
        try self.init(in: made.region, at: made.payloadOffset)
    }

    /// Copies `bytes` (an array, a slice, a string's `utf8`: any collection of bytes; one that
    /// is not contiguous is gathered into an array first) in and publishes them; `false` if the
    /// ring has no room now.
    ///
    /// - Throws: as `reserve(_:)`.
    @inlinable
    public mutating func trySend(_ bytes: some Collection<UInt8>) throws(SharedMemoryError) -> Bool {
        try withContiguousBytes(bytes) { (message) throws(SharedMemoryError) in try trySend(message) }
    }

    /// Copies `bytes` in and publishes them, waiting for room as `waitForRoom` does; `false` if
    /// `timeout` passed first.
    ///
    /// - Throws: as `waitForRoom(_:timeout:strategy:)`.
    @inlinable @discardableResult
    public mutating func send(
        _ bytes: some Collection<UInt8>, timeout: Duration? = nil, strategy: SpinThenWait = SPSCRing.defaultWaitStrategy
    ) throws(SharedMemoryError) -> Bool {
        try withContiguousBytes(bytes) { (message) throws(SharedMemoryError) in
            try send(message, timeout: timeout, strategy: strategy)
        }
    }

    @inlinable
    func withContiguousBytes(
        _ bytes: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) throws(SharedMemoryError) -> Bool
    ) throws(SharedMemoryError) -> Bool {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(SharedMemoryError) in try body(UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        let gathered = Array(bytes)
        return try gathered.withUnsafeBufferPointer { buffer in
            Result { () throws(SharedMemoryError) in try body(UnsafeRawBufferPointer(buffer)) }
        }.get()
    }
}

extension SPSCRing.Consumer {
    /// Attaches to the ring at `address` as its consumer, creating the region and the ring first
    /// if the producer has not: both sides may start in either order. Calls `shm_open`,
    /// `shmget` or `open` and `mmap` as `SharedRegions.openInitialized(_:layout:initializer:)` does.
    ///
    /// - Parameters:
    ///   - address: a named backend's address (`"posix:/orders"`); both sides give the same.
    ///   - capacity: data bytes, a power of two from 64 to 2^31; both sides give the same.
    ///   - permissions: the mode of a created object; 0600 by default.
    ///   - options: as for `SharedRegions.open`.
    /// - Throws: `SharedMemoryError`: `.layoutMismatch` if the region there holds something else
    ///   or a ring of another capacity; as `init(in:at:)` does.
    public init(
        openingOrCreating address: RegionAddress, capacity: Int, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default
    ) throws {
        let made = try SPSCRing.openInitialized(address, capacity: capacity, permissions: permissions, options: options)
        try self.init(in: made.region, at: made.payloadOffset)
    }

    /// The next message, copied into a new array (which allocates), or `nil` if the ring is
    /// empty now.
    ///
    /// - Throws: `.corrupted` as `peek()` does; `.truncated` as `tryReceive(into:)` does.
    @inlinable
    public mutating func tryReceive() throws(SharedMemoryError) -> [UInt8]? {
        guard let record = try nextRecord() else { return nil }
        return try copyOut(record)
    }

    /// Waits for the next message as `waitForMessage` does and returns a copy of it in a new
    /// array; `nil` if `timeout` passed first.
    ///
    /// - Throws: `.corrupted` as `peek()` does; `.truncated` as `tryReceive(into:)` does; a
    ///   `futex` failure other than a timeout.
    @inlinable
    public mutating func receive(
        timeout: Duration? = nil, strategy: SpinThenWait = SPSCRing.defaultWaitStrategy
    ) throws(SharedMemoryError) -> [UInt8]? {
        guard let record = try waitForRecord(timeout: timeout, strategy: strategy) else { return nil }
        return try copyOut(record)
    }

    /// A record's message into a new array, through the one copy out of the ring.
    @inlinable
    mutating func copyOut(_ record: Record) throws(SharedMemoryError) -> [UInt8] {
        var failure: SharedMemoryError?
        let bytes = [UInt8](unsafeUninitializedCapacity: record.message.count) { buffer, count in
            do throws(SharedMemoryError) {
                count = try copyAndAdvance(record, into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return bytes
    }
}
