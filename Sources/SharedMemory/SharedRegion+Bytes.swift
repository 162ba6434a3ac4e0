// What every backend shares: bounded access to the mapped bytes, and msync.
extension SharedRegion {
    /// The mechanism behind this region.
    public var backend: SharedRegionBackend { address.backend }
    /// The first byte of the mapping in this process.
    public var baseAddress: UnsafeMutableRawPointer { mapping.baseAddress }
    /// The size asked for, exactly (never page-rounded).
    public var byteCount: Int { mapping.byteCount }
    /// `byteCount` rounded up to whole pages.
    public var mappedByteCount: Int { mapping.mappedByteCount }

    /// Calls `body` with the region's `byteCount` bytes, for reading.
    ///
    /// The buffer is valid only inside `body`. Other processes may write it meanwhile:
    /// coordinate with them (a semaphore, a lock, atomics) before trusting what you read.
    /// Not guarded: if another process made the object smaller, touching the part cut off
    /// raises `SIGBUS` (the copying calls, `read` and `load`, answer `.truncated` instead).
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let mapping = self.mapping
        return try body(UnsafeRawBufferPointer(start: mapping.baseAddress, count: mapping.byteCount))
    }

    /// Calls `body` with the region's `byteCount` bytes, for writing.
    ///
    /// Not guarded against truncation by another process, as `withUnsafeBytes`.
    ///
    /// - Throws: `.readOnly` when the region was opened read-only (the mapping has no
    ///   `PROT_WRITE`; writing would kill the process with `SIGSEGV`), or what `body` throws.
    @inlinable
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        let mapping = self.mapping
        guard access == .readWrite else { throw SharedMemoryError.readOnly(address, operation: "write") }
        return try body(UnsafeMutableRawBufferPointer(start: mapping.baseAddress, count: mapping.byteCount))
    }

    /// Copies `count` bytes starting at `offset` out of the region (all the rest by default).
    ///
    /// The copy is guarded: if another process made a POSIX or file object smaller than this
    /// mapping, reaching the part that is gone is `.truncated`, not `SIGBUS`.
    ///
    /// - Throws: `.outOfBounds`, `.truncated`.
    public func read(at offset: Int = 0, count: Int? = nil) throws(SharedMemoryError) -> [UInt8] {
        let count = count ?? (byteCount - min(max(offset, 0), byteCount))
        let source = try RegionSlot.pointer(
            to: UInt8.self, count: count, at: offset, in: self, aligned: false, writing: false, operation: "read")
        var outcome: Result<Void, SharedMemoryError> = .success(())
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            outcome = Result { () throws(SharedMemoryError) in
                guard let destination = buffer.baseAddress else { return }
                try GuardedCopy.copy(
                    from: source, to: destination, count: count, shared: .source, in: self, operation: "read")
            }
            initialized = count
        }
        try outcome.get()
        return bytes
    }

    /// Copies `buffer.count` bytes starting at `offset` out of the region into `buffer`, which
    /// this process owns: a read that allocates nothing. Guarded as `read(at:count:)` is.
    ///
    /// - Throws: `.outOfBounds`, `.truncated` (`buffer` then holds part of the bytes).
    public func read(at offset: Int = 0, into buffer: UnsafeMutableRawBufferPointer) throws(SharedMemoryError) {
        let source = try RegionSlot.pointer(
            to: UInt8.self, count: buffer.count, at: offset, in: self, aligned: false, writing: false, operation: "read")
        guard let destination = buffer.baseAddress else { return }
        try GuardedCopy.copy(
            from: source, to: destination, count: buffer.count, shared: .source, in: self, operation: "read")
    }

    /// Copies `bytes` into the region at `offset`.
    ///
    /// The copy is guarded: if another process made a POSIX or file object smaller than this
    /// mapping, reaching the part that is gone is `.truncated`, not `SIGBUS`.
    ///
    /// - Throws: `.readOnly`, `.outOfBounds`, `.truncated` (the bytes before the cut are written).
    // Inlined into the caller, where the collection's type is known, so that its contiguous
    // bytes reach the copy without a generic call (a third of a 4 KiB write otherwise).
    @inlinable @inline(__always)
    public func write(_ bytes: some Collection<UInt8>, at offset: Int = 0) throws(SharedMemoryError) {
        var failure: SharedMemoryError?
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            failure = write(contiguous: UnsafeRawBufferPointer(buffer), at: offset)
            return true
        }
        if let failure { throw failure }
        if contiguous == nil { try write(gathering: bytes, at: offset) }
    }

    /// `write` of contiguous bytes; the error, if any, is returned.
    @usableFromInline
    func write(contiguous source: UnsafeRawBufferPointer, at offset: Int) -> SharedMemoryError? {
        do throws(SharedMemoryError) {
            let destination = try RegionSlot.pointer(
                to: UInt8.self, count: source.count, at: offset, in: self, aligned: false, writing: true,
                operation: "write")
            guard let start = source.baseAddress else { return nil }
            try GuardedCopy.copy(
                from: start, to: destination, count: source.count, shared: .destination, in: self, operation: "write")
            return nil
        } catch {
            return error
        }
    }

    /// `write` of a collection that is not contiguous: checked against the region first, then
    /// gathered, so that the region gets one guarded copy.
    @usableFromInline
    func write(gathering bytes: some Collection<UInt8>, at offset: Int) throws(SharedMemoryError) {
        let count = bytes.count
        _ = try RegionSlot.pointer(
            to: UInt8.self, count: count, at: offset, in: self, aligned: false, writing: true, operation: "write")
        // At most what was checked, even from a collection whose count changes.
        if let failure = Array(bytes.prefix(count)).withUnsafeBytes({ write(contiguous: $0, at: offset) }) {
            throw failure
        }
    }

    /// Writes dirty pages back to the backing store (`msync`).
    ///
    /// Shared memory needs no flush for other processes to see writes: they share the
    /// pages. `flush` matters for file-backed regions that must reach the disk.
    public func flush(_ mode: SharedRegionFlushMode = .synchronous) throws(SharedMemoryError) {
        try MappingSetup.flush(mapping, synchronously: mode == .synchronous).get("msync", address)
    }
}

extension SharedMemoryError {
    @usableFromInline
    static func readOnly(_ address: RegionAddress, operation: String) -> SharedMemoryError {
        SharedMemoryError(
            code: .readOnly, operation: operation, address: address.description,
            message: "the region is mapped read-only",
            hint: "open it with access: .readWrite (the object's mode must allow writing)")
    }
}
