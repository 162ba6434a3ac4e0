/// The one check behind every typed access into a region: the mapping is writable if the
/// access writes (a write to a read-only mapping would kill the process), `count` values of
/// `T` at `offset` lie inside the region's `byteCount`, and, where the access needs it, at an
/// address aligned for `T` (atomics, futex words and mutexes do; plain loads do not).
enum RegionSlot {
    @inline(__always)  // on every access: the call and its generic context cost more than the check
    static func pointer<T: ~Copyable>(
        to type: T.Type, count: Int = 1, at offset: Int, in region: some SharedRegion, aligned: Bool,
        writing: Bool, operation: String
    ) throws(SharedMemoryError) -> UnsafeMutableRawPointer {
        if writing && region.access != .readWrite { throw .readOnly(region.address, operation: operation) }
        let mapping = region.mapping
        let (byteCount, overflow) = MemoryLayout<T>.stride.multipliedReportingOverflow(by: max(count, 0))
        guard count >= 0, offset >= 0, !overflow, offset <= mapping.byteCount, byteCount <= mapping.byteCount - offset
        else {
            throw SharedMemoryError(
                code: .outOfBounds, operation: operation, address: region.address.description,
                message: "\(count) × \(T.self) (\(MemoryLayout<T>.stride) bytes each) at offset \(offset) "
                    + "reach outside the region's \(mapping.byteCount) bytes",
                hint: "keep offset + size within byteCount (\(mapping.byteCount))")
        }
        let pointer = mapping.baseAddress + offset
        if aligned && Int(bitPattern: pointer) % MemoryLayout<T>.alignment != 0 {
            throw SharedMemoryError(
                code: .misaligned, operation: operation, address: region.address.description,
                message: "offset \(offset) is not a multiple of \(T.self)'s alignment (\(MemoryLayout<T>.alignment))",
                hint: "place it at an offset that is a multiple of \(MemoryLayout<T>.alignment)")
        }
        return pointer
    }
}
