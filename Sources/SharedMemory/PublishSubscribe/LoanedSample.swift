/// A chunk of a service's pool on loan to a publisher: write the sample into `payload`, in
/// place, then `Publisher.send(_:byteCount:timeout:)` it. Dropped unsent, it goes back to the pool.
public struct LoanedSample: ~Copyable {
    let publisher: Publisher
    let chunk: Int
    var sent = false
    /// The chunk's payload bytes, in the shared region: `payloadByteCount` of them, aligned as
    /// the service's `payloadAlignment`. Valid until the sample is sent or dropped.
    public let payload: UnsafeMutableRawBufferPointer

    init(publisher: Publisher, chunk: Int, payload: UnsafeMutableRawBufferPointer) {
        self.publisher = publisher
        self.chunk = chunk
        self.payload = payload
    }

    deinit {
        if !sent { publisher.giveBack(chunk) }
    }
}
