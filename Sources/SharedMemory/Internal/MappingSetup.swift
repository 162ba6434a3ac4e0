#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import SystemPackage

/// What happens to every new mapping, whatever the backend: huge-page advice, prefault, lock.
enum MappingSetup {
    static func apply(
        _ options: SharedRegionOptions, to mapping: SharedRegionMapping, access: SharedRegionAccess,
        address: RegionAddress
    ) throws(SharedMemoryError) {
        if options.hugePages && address.backend == .posix {
            // SHM_HUGETLB and MFD_HUGETLB ask at creation; tmpfs takes advice per mapping.
            try HugePages.advise(mapping, address)
        }
        if options.prefault {
            // MAP_POPULATE on a shared mapping only prepares reads; MADV_POPULATE_WRITE
            // faults the pages in writable, which is what first writes would pay for.
            let advice = access == .readWrite ? MADV_POPULATE_WRITE : MADV_POPULATE_READ
            _ = try SystemCall.value { madvise(mapping.baseAddress, mapping.byteCount, advice) }
                .get("madvise", address)
        }
        if options.lockInMemory {
            _ = try SystemCall.value { mlock(mapping.baseAddress, mapping.byteCount) }.get("mlock", address)
        }
    }

    /// `msync(MS_SYNC)` or `msync(MS_ASYNC)` over the whole mapping.
    static func flush(_ mapping: SharedRegionMapping, synchronously: Bool) -> Result<Void, Errno> {
        SystemCall.value { msync(mapping.baseAddress, mapping.mappedByteCount, synchronously ? MS_SYNC : MS_ASYNC) }
            .map { _ in () }
    }
}
