/// A chunk of a request-response service's pool on loan to a client: write the request into
/// `payload`, in place, then `Client.send(_:byteCount:timeout:)` it. Dropped unsent, it goes
/// back to the pool.
public struct LoanedRequest: ~Copyable {
    let sample: LoanedSample
    /// The request's id, already written into the chunk; every response to it carries it.
    public let id: UInt64
    /// The request's bytes, in the shared region: `requestPayloadByteCount` of them, aligned as
    /// the service's `payloadAlignment`. Valid until the request is sent or dropped.
    public let payload: UnsafeMutableRawBufferPointer
}
