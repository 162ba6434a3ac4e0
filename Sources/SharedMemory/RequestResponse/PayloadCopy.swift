/// Copies between a caller's bytes and a payload in the region, guarded (a region another
/// process cut short is `.truncated`, not `SIGBUS`).
enum PayloadCopy {
    static func copyOut(_ bytes: UnsafeRawBufferPointer, from region: any SharedRegion, operation: String)
        throws(SharedMemoryError) -> [UInt8]
    {
        var copy = [UInt8](repeating: 0, count: bytes.count)
        if let source = bytes.baseAddress {
            try copy.withUnsafeMutableBytes { destination in
                Result { () throws(SharedMemoryError) in
                    try GuardedCopy.copy(
                        from: source, to: destination.baseAddress!, count: bytes.count, shared: .source, in: region,
                        operation: operation)
                }
            }.get()
        }
        return copy
    }

    static func copy(
        _ bytes: some Collection<UInt8>, into payload: UnsafeMutableRawBufferPointer, in region: any SharedRegion,
        operation: String
    ) throws(SharedMemoryError) {
        func copy(_ source: UnsafeRawBufferPointer) throws(SharedMemoryError) {
            guard let from = source.baseAddress, let to = payload.baseAddress else { return }
            try GuardedCopy.copy(
                from: from, to: to, count: source.count, shared: .destination, in: region, operation: operation)
        }
        let copied = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(SharedMemoryError) in try copy(UnsafeRawBufferPointer(buffer)) }
        }
        if let copied {
            try copied.get()
        } else {
            try Array(bytes).withUnsafeBytes { buffer in Result { () throws(SharedMemoryError) in try copy(buffer) } }.get()
        }
    }
}
