// Reading a large range without holding all of it: one buffer, refilled chunk by chunk.
extension SharedRegion {
    /// Copies `count` bytes starting at `offset` (all the rest by default) out of the region,
    /// `chunkByteCount` at a time, and calls `body` with each chunk in order.
    ///
    /// Memory stays at one chunk whatever the range: `shm read` streams a 1 GiB region this
    /// way. The chunk is a private copy, made as `read(at:into:)` makes it (guarded: a part
    /// another process cut off is `.truncated`, not `SIGBUS`), valid only inside `body`. Other
    /// processes may write the region meanwhile, so chunks taken at different moments need not
    /// be consistent with each other. Throwing from `body` stops at once.
    ///
    /// - Throws: `.outOfBounds` when the range reaches outside the region and `.invalidArgument`
    ///   for a chunk size below 1, both before `body` is called; `.truncated`; then whatever
    ///   `body` throws.
    public func read(
        at offset: Int = 0, count: Int? = nil, chunkByteCount: Int = 1 << 16,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let count = count ?? (byteCount - min(max(offset, 0), byteCount))
        _ = try RegionSlot.pointer(
            to: UInt8.self, count: count, at: offset, in: self, aligned: false, writing: false, operation: "read")
        guard chunkByteCount >= 1 else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "read", address: address.description,
                message: "a chunk of \(chunkByteCount) bytes cannot hold anything",
                hint: "pass chunkByteCount: 1 or more (64 KiB by default)")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(chunkByteCount, max(count, 1)), alignment: 16)
        defer { buffer.deallocate() }
        var done = 0
        while done < count {
            let length = min(buffer.count, count - done)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])
            try read(at: offset + done, into: chunk)
            try body(UnsafeRawBufferPointer(chunk))
            done += length
        }
    }
}
