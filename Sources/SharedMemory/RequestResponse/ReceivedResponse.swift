/// A response a client received: a view of the chunk the server wrote, in the shared region,
/// no copy. Dropping it releases the chunk back to the pool.
public struct ReceivedResponse: ~Copyable {
    let client: Client
    let chunk: Int
    /// The slot of the server that sent it.
    public let server: Int
    /// The id of the request it answers (what `Client.send` returned).
    public let requestID: UInt64
    /// The response's bytes, in place. A misbehaving server could still write them: copy what
    /// you must check before you trust it. Valid until the response is dropped.
    public let bytes: UnsafeRawBufferPointer

    init(client: Client, chunk: Int, server: Int, requestID: UInt64, bytes: UnsafeRawBufferPointer) {
        self.client = client
        self.chunk = chunk
        self.server = server
        self.requestID = requestID
        self.bytes = bytes
    }

    /// The bytes, copied out (guarded: a region cut short is `.truncated`, not `SIGBUS`).
    public func copyBytes() throws(SharedMemoryError) -> [UInt8] {
        try PayloadCopy.copyOut(bytes, from: client.service.region, operation: "Client.receive")
    }

    deinit {
        client.release(chunk)
    }
}
