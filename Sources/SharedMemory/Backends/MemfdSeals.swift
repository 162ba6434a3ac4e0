import SystemPackage

/// The seals a memfd can carry (`F_SEAL_*`): once added, no process can remove them, so a
/// receiver that finds them knows what the sender can no longer do to the memory.
public struct MemfdSeals: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `F_SEAL_SEAL`: no more seals can be added.
    public static let seal = MemfdSeals(rawValue: MemfdCall.sealSeal)
    /// `F_SEAL_SHRINK`: the size cannot go down, so a mapping never loses pages (no `SIGBUS`).
    public static let shrink = MemfdSeals(rawValue: MemfdCall.sealShrink)
    /// `F_SEAL_GROW`: the size cannot go up.
    public static let grow = MemfdSeals(rawValue: MemfdCall.sealGrow)
    /// `F_SEAL_WRITE`: the contents cannot change any more.
    public static let write = MemfdSeals(rawValue: MemfdCall.sealWrite)

    /// `shrink, grow`, in the order of the C names.
    public var description: String {
        let names: [(MemfdSeals, String)] = [(.seal, "seal"), (.shrink, "shrink"), (.grow, "grow"), (.write, "write")]
        let listed = names.filter { contains($0.0) }.map(\.1)
        return listed.isEmpty ? "none" : listed.joined(separator: ", ")
    }

    /// The seals on `descriptor` (`fcntl(F_GET_SEALS)`); none on a file that cannot be sealed.
    static func on(_ descriptor: Int32, _ address: RegionAddress) throws(SharedMemoryError) -> MemfdSeals {
        switch MemfdCall.seals(descriptor) {
        case .success(let seals): return MemfdSeals(rawValue: seals)
        case .failure(.invalidArgument): return []  // not a memfd (or created without MFD_ALLOW_SEALING)
        case .failure(let error): throw SharedMemoryError(operation: "fcntl(F_GET_SEALS)", address: address, errno: error)
        }
    }

    /// Refuses `descriptor` unless it carries every seal in `required`.
    static func require(_ required: MemfdSeals, on descriptor: Int32, _ address: RegionAddress) throws(SharedMemoryError) {
        guard !required.isEmpty else { return }
        let present = try on(descriptor, address)
        let missing = required.subtracting(present)
        guard !missing.isEmpty else { return }
        throw SharedMemoryError(
            code: .missingSeals, operation: "fcntl(F_GET_SEALS)", address: address.description,
            message: "the descriptor is sealed with \(present) but lacks \(missing)",
            hint: "the sender must seal it first: MemfdRegion.seal([\(missing)]) (fcntl F_ADD_SEALS)")
    }
}

extension MemfdRegion {
    /// The seals this memfd carries now (`fcntl(F_GET_SEALS)`).
    public var seals: MemfdSeals {
        get throws(SharedMemoryError) { try MemfdSeals.on(storage.descriptor, address) }
    }

    /// Adds `seals` to the memfd (`fcntl(F_ADD_SEALS)`), for every process that holds it.
    ///
    /// The kernel refuses `.write` (`EBUSY`, a `.busy` error) while any process maps the memory
    /// shared and writable, and counts a read-only mapping of a descriptor opened for writing
    /// as writable. So with `.write` this region's own mapping is set aside during the call
    /// and comes back read-only, at the same address (`access` becomes `.readOnly`); other
    /// processes must have released their mappings first. Sealing `.write` on a region that
    /// was already sent is therefore a `.busy` error until the receivers let go.
    public func seal(_ seals: MemfdSeals) throws(SharedMemoryError) {
        let descriptor = storage.descriptor
        let address = self.address
        let add = { () throws(SharedMemoryError) in
            try MemfdCall.addSeals(descriptor, seals.rawValue).get("fcntl(F_ADD_SEALS)", address)
        }
        do throws(SharedMemoryError) {
            if seals.contains(.write) {
                try storage.remapped(as: .readOnly, options: options, address: address, around: add)
            } else {
                try add()
            }
        } catch where error.code == .busy {
            throw SharedMemoryError(
                code: .busy, operation: error.operation, address: error.address, errno: error.errno,
                message: "the memory is still mapped shared and writable by some process",
                hint: "F_SEAL_WRITE needs every other mapping released first; seal before sending the descriptor")
        } catch where error.errno == .notPermitted {
            throw SharedMemoryError(
                code: .permissionDenied, operation: error.operation, address: error.address, errno: error.errno,
                message: "the memfd is sealed against new seals (F_SEAL_SEAL), or was made without MFD_ALLOW_SEALING",
                hint: "add every seal in one call before .seal")
        }
    }
}
