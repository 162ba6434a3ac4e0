/// The size rules every backend shares.
enum RegionSize {
    /// The largest size accepted: what `off_t` and the address space can hold.
    static let maximum = Int(Int64.max) / 2

    /// A size for a new object (or a resize): positive, and not absurd.
    static func validate(_ byteCount: Int, _ address: RegionAddress) throws(SharedMemoryError) {
        guard byteCount > 0 else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "size", address: address.description,
                message: "size \(byteCount) is not a positive number of bytes",
                hint: "give a size of at least 1 byte")
        }
        guard byteCount <= maximum else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "size", address: address.description,
                message: "size \(byteCount) is beyond any address space",
                hint: "give a size this machine can map")
        }
    }

    /// The byte count to map when opening an object of `existing` bytes: what was asked, or
    /// all of it; never more than there is.
    static func forOpening(requested: Int?, existing: Int, _ address: RegionAddress) throws(SharedMemoryError) -> Int {
        guard let requested else { return existing }
        try validate(requested, address)
        guard requested <= existing else {
            throw SharedMemoryError(
                code: .invalidSize, operation: "open", address: address.description,
                message: "asked for \(requested) bytes but the existing object has \(existing)",
                hint: "open it with size: nil (or at most \(existing)), or resize it first")
        }
        return requested
    }
}
