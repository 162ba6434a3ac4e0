#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import SystemPackage

/// A second, independent handle on `region` in this process: by address for named
/// backends, by a duplicated descriptor for memfd (which has no name).
func reopen(
    _ region: any SharedRegion, size: Int? = nil, access: SharedRegionAccess = .readWrite
) throws -> any SharedRegion {
    if let memfd = region as? MemfdRegion {
        let copy = try memfd.descriptor.duplicate()
        return try MemfdRegion(adopting: copy, size: size, access: access)
    }
    return try SharedRegions.open(region.address, size: size, mode: .open, access: access)
}
