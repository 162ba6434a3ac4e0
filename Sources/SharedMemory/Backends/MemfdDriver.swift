import SystemPackage

/// Anonymous `memfd_create` files: no name another process can open, so only creation here;
/// others get the memory by descriptor.
struct MemfdDriver: RegionDriver {
    var capabilities: SharedRegionBackend.Capabilities { [.resizable] }
    var displayName: String { "memfd" }
    var isAvailable: Bool { MemfdCall.exists }

    func address(forName name: String) throws(SharedMemoryError) -> RegionAddress {
        try RegionAddress(parsing: "memfd:" + name)
    }

    func open(
        _ address: RegionAddress, size: Int?, mode: SharedRegionOpenMode, access: SharedRegionAccess,
        permissions: FilePermissions, options: SharedRegionOptions
    ) throws(SharedMemoryError) -> any SharedRegion {
        guard case .memfd(let name) = address else { throw .wrongBackend(address, expected: .memfd) }
        guard mode == .create else {
            throw .unsupported(
                "open", address, "a memfd has no name another process can open",
                hint: "create it with mode .create, and hand it over with MemfdRegion.send(over:) / receive(from:)")
        }
        return try MemfdRegion(
            name: name, size: try OpenProcedure.sizeForCreating(size, address), access: access,
            permissions: permissions, options: options)
    }

    func remove(_ address: RegionAddress) throws(SharedMemoryError) {
        throw .unsupported(
            "remove", address, "a memfd has no name to remove",
            hint: "its memory is freed when the last process holding it closes it")
    }

    func status(of address: RegionAddress) throws(SharedMemoryError) -> SharedRegionStatus {
        throw .unsupported(
            "status", address, "a memfd has no name to look up", hint: "call status() on the MemfdRegion that holds it")
    }

    /// `MFD_HUGETLB` draws on the pool reserved with `vm.nr_hugepages`.
    func checkHugePages(_ address: RegionAddress) throws(SharedMemoryError) {
        try HugePages.requireReservedPool(address)
    }

    func room(for address: RegionAddress) -> (bytes: Int, place: String)? { Capacity.availableMemory() }

    func ownership(of address: RegionAddress, semaphoreSet: Bool) -> String? { nil }
}
