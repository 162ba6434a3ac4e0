#if canImport(Glibc)
import Glibc
#endif

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
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let mapping = self.mapping
        return try body(UnsafeRawBufferPointer(start: mapping.baseAddress, count: mapping.byteCount))
    }

    /// Calls `body` with the region's `byteCount` bytes, for writing.
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
    public func read(at offset: Int = 0, count: Int? = nil) throws(SharedMemoryError) -> [UInt8] {
        let count = count ?? (byteCount - min(max(offset, 0), byteCount))
        let source = try RegionSlot.pointer(
            to: UInt8.self, count: count, at: offset, in: self, aligned: false, writing: false, operation: "read")
        return [UInt8](UnsafeRawBufferPointer(start: source, count: count))
    }

    /// Copies `bytes` into the region at `offset`.
    public func write(_ bytes: some Collection<UInt8>, at offset: Int = 0) throws(SharedMemoryError) {
        let start = try RegionSlot.pointer(
            to: UInt8.self, count: bytes.count, at: offset, in: self, aligned: false, writing: true, operation: "write")
        let destination = UnsafeMutableRawBufferPointer(start: start, count: bytes.count)
        if bytes.withContiguousStorageIfAvailable({ destination.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
            destination.copyBytes(from: bytes)
        }
    }

    /// Writes dirty pages back to the backing store (`msync`).
    ///
    /// Shared memory needs no flush for other processes to see writes: they share the
    /// pages. `flush` matters for file-backed regions that must reach the disk.
    public func flush(_ mode: SharedRegionFlushMode = .synchronous) throws(SharedMemoryError) {
        let mapping = self.mapping
        let flags = mode == .synchronous ? MS_SYNC : MS_ASYNC
        _ = try SystemCall.value { msync(mapping.baseAddress, mapping.mappedByteCount, flags) }
            .get("msync", address)
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
