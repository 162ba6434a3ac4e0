#if canImport(Glibc)
import Glibc
#endif
import SharedMemory
import Synchronization

/// Names unique to this run and this test: the pid, then a counter.
enum TestNames {
    private static let counter = Atomic<Int>(0)

    static func unique(_ label: String = "t") -> String {
        "smtest-\(getpid())-\(label)-\(counter.add(1, ordering: .relaxed).newValue)"
    }

    /// A fresh address for `backend`, named as `address(forName:)` names it.
    static func address(_ backend: SharedRegionBackend, _ label: String = "t") throws -> RegionAddress {
        try backend.address(forName: unique(label))
    }
}

/// Removes what a test made, whatever happened: used in `defer`.
func cleanUp(_ address: RegionAddress) {
    try? SharedRegions.remove(address)
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

extension TestNames {
    /// Where `address(.file)` puts files: `$TMPDIR` or `/tmp`.
    static let fileDirectory: String = {
        guard case .file(let path) = try? SharedRegionBackend.file.address(forName: "probe") else { return "/tmp" }
        return path.removingLastComponent().string
    }()
}
