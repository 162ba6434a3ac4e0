/// A request a server received: a view of the chunk the client wrote, in the shared region, no
/// copy. Answer it with `Server.loan(respondingTo:)` or `Server.respond(to:bytes:timeout:)`, as
/// many times as needed; dropping it releases the chunk.
public struct ReceivedRequest: ~Copyable {
    let sample: ReceivedSample
    /// The client's port word when the request was received: a response goes to that client
    /// only, not to a later one in its slot.
    let clientWord: UInt64
    /// The slot of the client that sent it.
    public var client: Int { sample.publisher }
    /// The request's id, which the responses carry back.
    public let id: UInt64
    /// The request's bytes, in place. A misbehaving client could still write them: copy what you
    /// must check before you trust it. Valid until the request is dropped.
    public let bytes: UnsafeRawBufferPointer

    /// The bytes, copied out (guarded: a region cut short is `.truncated`, not `SIGBUS`).
    public func copyBytes() throws(SharedMemoryError) -> [UInt8] {
        try PayloadCopy.copyOut(bytes, from: sample.subscriber.memory.region, operation: "Server.receive")
    }
}
