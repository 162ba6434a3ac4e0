/// A chunk of a request-response service's pool on loan to a server, for a response to one
/// request: write it into `payload`, in place, then `Server.send(_:byteCount:timeout:)` it.
/// Dropped unsent, it goes back to the pool.
public struct LoanedResponse: ~Copyable {
    let server: Server
    let chunk: Int
    let client: Int
    let clientWord: UInt64
    var sent = false
    /// The id of the request it answers, already written into the chunk.
    public let requestID: UInt64
    /// The response's bytes, in the shared region: `responsePayloadByteCount` of them, aligned as
    /// the service's `payloadAlignment`. Valid until the response is sent or dropped.
    public let payload: UnsafeMutableRawBufferPointer

    init(
        server: Server, chunk: Int, client: Int, clientWord: UInt64, requestID: UInt64,
        payload: UnsafeMutableRawBufferPointer
    ) {
        self.server = server
        self.chunk = chunk
        self.client = client
        self.clientWord = clientWord
        self.requestID = requestID
        self.payload = payload
    }

    deinit {
        if !sent { server.giveBack(chunk) }
    }
}
