import CReference
import SharedMemory
import SystemPackage

extension ComparisonRun {
    static let lifecycleSizes: [(label: String, bytes: Int, iterations: Int)] = [
        ("4 KiB", 4 << 10, 400), ("1 MiB", 1 << 20, 160), ("64 MiB", 64 << 20, 16),
    ]

    /// The mechanisms this machine has, with the C reference's number for each.
    var mechanisms: [(backend: SharedRegionBackend, c: cref_mechanism)] {
        let all: [(SharedRegionBackend, cref_mechanism)] = [
            (.systemV, CREF_SYSV), (.posix, CREF_POSIX), (.file, CREF_FILE), (.memfd, CREF_MEMFD),
        ]
        return all.filter { $0.0.isAvailable }
    }

    /// The address for `name` on `backend`, and the strings the C side takes for it.
    func target(_ backend: SharedRegionBackend, _ name: String) throws -> (address: RegionAddress, cName: String, key: Int32) {
        let address = try backend.address(forName: name)
        cleanUp.register(address)
        switch address {
        case .posix(let name): return (address, name, 0)
        case .file(let path): return (address, path.string, 0)
        case .memfd(let name): return (address, name, 0)
        case .systemV(.key(let key)): return (address, "", key)
        case .systemV: throw ComparisonError("address(forName:) gave an unexpected System V address")
        }
    }

    /// Create + map + unmap + remove, through `SharedRegions.open` and `remove()`, against C.
    func lifecycle() throws -> [ComparisonResult] {
        var results: [ComparisonResult] = []
        for (backend, mechanism) in mechanisms {
            for size in Self.lifecycleSizes {
                try cleanUp.checkpoint()
                let swiftTarget = try target(backend, uniqueName("life"))
                let cTarget = try target(backend, uniqueName("life-c"))
                results.append(
                    try compare(
                        section: "lifecycle", mechanism: backend.rawValue, metric: "create, map, unmap, remove \(size.label)",
                        unit: "µs", iterations: iterations(size.iterations), value: { Double($0) / 1000 },
                        swift: { count in
                            try (0..<count).map { _ in
                                try timed {
                                    let region = try SharedRegions.open(swiftTarget.address, size: size.bytes, mode: .create)
                                    try region.remove()
                                }
                            }
                        },
                        c: { count in
                            try self.cSamples("cref_lifecycle", count: count) {
                                cref_lifecycle(Int32(mechanism.rawValue), cTarget.cName, cTarget.key, size.bytes, Int32(count), $0)
                            }
                        }))
            }
        }
        return results
    }

    /// Open an existing object + map + unmap, against C.
    func attach() throws -> [ComparisonResult] {
        var results: [ComparisonResult] = []
        for (backend, mechanism) in mechanisms {
            for size in Self.lifecycleSizes {
                try cleanUp.checkpoint()
                let swiftTarget = try target(backend, uniqueName("attach"))
                let cTarget = try target(backend, uniqueName("attach-c"))
                let existing = try SharedRegions.open(swiftTarget.address, size: size.bytes, mode: .create)
                defer { try? existing.remove() }
                let reopen: () throws -> Void
                if let memfd = existing as? MemfdRegion {
                    reopen = { _ = try MemfdRegion(adopting: memfd.descriptor.duplicate()) }
                } else {
                    reopen = { _ = try SharedRegions.open(swiftTarget.address, mode: .open) }
                }
                results.append(
                    try compare(
                        section: "attach", mechanism: backend.rawValue, metric: "open, map, unmap \(size.label)",
                        unit: "µs", iterations: iterations(size.iterations * 4), value: { Double($0) / 1000 },
                        swift: { count in try (0..<count).map { _ in try timed(reopen) } },
                        c: { count in
                            try self.cSamples("cref_attach", count: count) {
                                cref_attach(Int32(mechanism.rawValue), cTarget.cName, cTarget.key, size.bytes, Int32(count), $0)
                            }
                        }))
            }
        }
        return results
    }
}
