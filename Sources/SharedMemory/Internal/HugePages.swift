#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims

/// Whether the kernel can back a region with huge pages, checked before anything is created
/// so that a refusal leaves nothing behind.
enum HugePages {
    /// Refuses `hugePages` where this backend cannot have them on this machine.
    static func check(_ options: SharedRegionOptions, _ address: RegionAddress) throws(SharedMemoryError) {
        guard options.hugePages else { return }
        try address.backend.driver.checkHugePages(address)
    }

    /// `SHM_HUGETLB` and `MFD_HUGETLB` draw on the pool reserved with `vm.nr_hugepages`.
    static func requireReservedPool(_ address: RegionAddress) throws(SharedMemoryError) {
        let setting = SystemFile.contents("/proc/sys/vm/nr_hugepages") ?? ""
        let reserved = setting.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 0
        guard reserved > 0 else {
            throw .unsupported(
                "huge pages", address, "no huge pages are reserved on this machine (vm.nr_hugepages is 0)",
                hint: "reserve some as root with `sysctl vm.nr_hugepages=N`, or open without hugePages")
        }
    }

    /// tmpfs objects get transparent huge pages unless `shmem_enabled` says never or deny.
    static func requireTransparentShmem(_ address: RegionAddress) throws(SharedMemoryError) {
        let setting = SystemFile.contents("/sys/kernel/mm/transparent_hugepage/shmem_enabled") ?? ""
        let selected = setting.split(separator: " ").first { $0.hasPrefix("[") } ?? "[never]"
        guard selected != "[never]", selected != "[deny]" else {
            throw .unsupported(
                "huge pages", address, "transparent huge pages are off for shared memory (shmem_enabled is \(selected))",
                hint: "as root: echo advise > /sys/kernel/mm/transparent_hugepage/shmem_enabled, "
                    + "or open without hugePages")
        }
    }

    static func advise(_ mapping: SharedRegionMapping, _ address: RegionAddress) throws(SharedMemoryError) {
        _ = try SystemCall.value {
            madvise(mapping.baseAddress, mapping.byteCount, MADV_HUGEPAGE)
        }.get("madvise", address)
    }
}
