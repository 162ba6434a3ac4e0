/// What the drivers of POSIX objects and mapped files share: each object is a file found by
/// name (`DescriptorNamespace`), so removal, status and the owner named in a permission hint
/// all come from the namespace.
protocol NamedDescriptorDriver: RegionDriver {
    associatedtype Namespace: DescriptorNamespace
    /// The namespace entry for `address`; an address of another backend is refused.
    func namespace(_ address: RegionAddress) throws(SharedMemoryError) -> Namespace
}

extension NamedDescriptorDriver {
    func remove(_ address: RegionAddress) throws(SharedMemoryError) { try namespace(address).remove() }

    func status(of address: RegionAddress) throws(SharedMemoryError) -> SharedRegionStatus {
        try MappedDescriptor.statusOfNamed(try namespace(address))
    }

    func ownership(of address: RegionAddress, semaphoreSet: Bool) -> String? {
        (try? namespace(address)).flatMap { ObjectOwnership.describeFile($0.filesystemPath) }
    }
}
