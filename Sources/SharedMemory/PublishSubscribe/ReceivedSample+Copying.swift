extension ReceivedSample {
    /// Copies the bytes into `array`, replacing its contents (guarded: a region cut short is
    /// `.truncated`, not `SIGBUS`). An array that is this caller's alone and large enough is
    /// reused: no allocation.
    func copyBytes(into array: inout [UInt8]) throws(SharedMemoryError) {
        // Element by element: a generic append allocates in a debug build.
        if array.count > bytes.count {
            array.removeLast(array.count - bytes.count)
        } else {
            for _ in array.count..<bytes.count { array.append(0) }
        }
        guard let source = bytes.baseAddress else { return }
        try array.withUnsafeMutableBytes { destination in
            Result { () throws(SharedMemoryError) in
                try GuardedCopy.copy(
                    from: source, to: destination.baseAddress!, count: bytes.count, shared: .source,
                    in: subscriber.memory.region, operation: "Subscriber.receive")
            }
        }.get()
    }

    /// Loads the bytes as a `Value`, copied out as `copyBytes(into:)` does, without an array.
    ///
    /// - Throws: `.invalidSize` when the sample's length is not `Value`'s size; `.truncated` if
    ///   another process cut the region short of the chunk.
    func load<Value: BitwiseCopyable>(as type: Value.Type) throws(SharedMemoryError) -> Value {
        guard bytes.count == MemoryLayout<Value>.size else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "Subscriber.receive", address: subscriber.memory.address.description,
                message: "a \(bytes.count)-byte sample is no \(Value.self) (\(MemoryLayout<Value>.size) bytes)",
                hint: "receive the type the publisher sends")
        }
        return try withUnsafeTemporaryAllocation(of: Value.self, capacity: 1) { value throws(SharedMemoryError) in
            if let source = bytes.baseAddress {
                try GuardedCopy.copy(
                    from: source, to: UnsafeMutableRawPointer(value.baseAddress!), count: bytes.count, shared: .source,
                    in: subscriber.memory.region, operation: "Subscriber.receive")
            }
            return UnsafeMutableRawPointer(value.baseAddress!).load(as: Value.self)
        }
    }
}
