extension LayoutHeader {
    /// Checks that a region holds a ready service of the layout `name` before its configuration
    /// is read (the configuration gives the size `validate()` then checks).
    ///
    /// - Throws: `.notReady` while its creator initializes it; `.layoutMismatch` naming `kind`
    ///   when the region holds something else.
    static func checkReadyService(
        in region: any SharedRegion, name: String, version: UInt32, kind: String, operation: String, howToCreate: String
    ) throws(SharedMemoryError) {
        let identifier = try RegionLayout(name: name, version: version, payloadByteCount: 0).identifier
        let state = try region.load(UInt64.self, at: RegionLayout.Field.state)
        guard state & 0b11 == UInt64(RegionLayout.Phase.ready.rawValue) else {
            throw SharedMemoryError(
                code: .notReady, operation: operation, address: region.address.description,
                message: "the \(kind) is not initialized yet", hint: "retry once its creator has made it")
        }
        guard try region.load(UInt64.self, at: RegionLayout.Field.identifier) == identifier else {
            throw SharedMemoryError(
                code: .layoutMismatch, operation: operation, address: region.address.description,
                message: "the region holds no \(kind)",
                hint: "give the address of the \(kind) (\(howToCreate) makes one)")
        }
    }
}

extension SharedMemoryError {
    /// The error for opening a service with another configuration than the one it records,
    /// naming both (publish-subscribe, events and request-response alike).
    static func configurationMismatch(
        stored: some CustomStringConvertible, asked: some CustomStringConvertible, kind: String, operation: String,
        _ address: RegionAddress
    ) -> SharedMemoryError {
        SharedMemoryError(
            code: .layoutMismatch, operation: operation, address: address.description,
            message: "the \(kind) there has another configuration: it has \(stored); this call asked for \(asked)",
            hint: "open it with its configuration (or `init(opening:)`), or remove it (`shm remove \(address)`) "
                + "once nothing uses it")
    }
}
