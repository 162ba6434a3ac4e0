/// A sample a subscriber received: a view of the chunk the publisher wrote, in the shared
/// region, no copy. Dropping it releases the chunk (its last holder returns it to the pool).
public struct ReceivedSample: ~Copyable {
    let subscriber: Subscriber
    let chunk: Int
    /// The slot of the publisher that sent it.
    public let publisher: Int
    /// The sample's bytes, in place. A misbehaving publisher could still write them: copy what
    /// you must check before you trust it. Valid until the sample is dropped.
    public let bytes: UnsafeRawBufferPointer

    init(subscriber: Subscriber, chunk: Int, publisher: Int, bytes: UnsafeRawBufferPointer) {
        self.subscriber = subscriber
        self.chunk = chunk
        self.publisher = publisher
        self.bytes = bytes
    }

    /// The bytes, copied out (guarded: a region cut short is `.truncated`, not `SIGBUS`).
    public func copyBytes() throws(SharedMemoryError) -> [UInt8] {
        var copy: [UInt8] = []
        try copyBytes(into: &copy)
        return copy
    }

    deinit {
        subscriber.release(chunk)
    }
}
