import CSharedMemoryShims

/// The copy behind every copying call (`read`, `write`, `load`, `store`, their array forms, and
/// the ring's `send` and `receive`): a region whose object another process made smaller is a `.truncated` error instead
/// of a `SIGBUS` that kills the process.
///
/// The copy runs in the C shim under a `SIGBUS` handler installed on first use. It recognises
/// only a fault of this thread's copy at an address on the copy's shared side; any other `SIGBUS`
/// goes to the handler installed before it (or gets the default action). Raw pointers
/// (`withUnsafeBytes`, `SharedAtomic`, `RegionOffset.pointer`) are not guarded.
@usableFromInline
enum GuardedCopy {
    /// Which end of a copy lies in the region's mapping.
    @usableFromInline
    enum SharedSide {
        case source, destination
    }

    /// Copies `count` bytes from `source` to `destination`, one of which (`shared`) lies in
    /// `region`'s mapping, inside the bounds `RegionSlot` checked.
    @usableFromInline @inline(__always)
    static func copy(
        from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, shared: SharedSide,
        in region: some SharedRegion, operation: String
    ) throws(SharedMemoryError) {
        guard count > 0 else { return }
        let start = shared == .source ? source : UnsafeRawPointer(destination)
        let outcome = SystemCall.value(retryingInterrupts: false) {
            CSharedMemoryShims_guarded_copy(destination, source, count, start)
        }
        switch outcome {
        case .success(0):
            return
        case .success:
            throw .truncated(
                operation, region.address, offset: start - UnsafeRawPointer(region.baseAddress), count: count,
                byteCount: region.byteCount)
        case .failure(let errno):
            throw SharedMemoryError(operation: "sigaction", address: region.address, errno: errno)
        }
    }
}

extension SharedMemoryError {
    static func truncated(_ operation: String, _ address: RegionAddress, offset: Int, count: Int, byteCount: Int)
        -> SharedMemoryError
    {
        SharedMemoryError(
            code: .truncated, operation: operation, address: address.description,
            message: "bytes \(offset)..<\(offset + count) of the region's \(byteCount) are gone: another process made "
                + "the object smaller than the mapping (the copy caught the SIGBUS)",
            hint: "whoever shares it cut it (ftruncate, resize, O_TRUNC); reopen it to map what is left, and agree on "
                + "its size with the other side; a memfd sealed against shrinking (MemfdSeals.shrink) rules this out")
    }
}
