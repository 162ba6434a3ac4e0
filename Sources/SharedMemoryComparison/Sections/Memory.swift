#if canImport(Glibc)
import Glibc
#endif
import CReference
import SharedMemory

extension ComparisonRun {
    /// First touch per 4 KiB page of a fresh POSIX region, without and with prefault
    /// (`MADV_POPULATE_WRITE`). Creating the region is not timed (on both sides); the sample
    /// covers opening it (Swift: the prefault is an option of `open`), writing one byte per
    /// page, divided by the pages.
    func firstTouch() throws -> [ComparisonResult] {
        let size = options.quick ? 16 << 20 : 64 << 20
        let pages = Double(size / 4096)
        return try [false, true].map { prefault in
            try cleanUp.checkpoint()
            var regionOptions = SharedRegionOptions()
            regionOptions.prefault = prefault
            let cName = try target(.posix, uniqueName("touch-c")).cName
            return try compare(
                section: "first touch", mechanism: "posix", metric: prefault ? "per page, prefaulted" : "per page",
                unit: "ns", iterations: iterations(24), value: { Double($0) / pages },
                swift: { count in
                    try (0..<count).map { _ in
                        let address = try target(.posix, uniqueName("touch")).address
                        let creator = try SharedRegions.open(address, size: size, mode: .create)
                        defer { try? creator.remove() }
                        var region: (any SharedRegion)?
                        let sample = try timed {
                            region = try SharedRegions.open(address, mode: .open, options: regionOptions)
                            try region?.withUnsafeMutableBytes { bytes in
                                for page in stride(from: 0, to: bytes.count, by: 4096) { bytes[page] = 1 }
                            }
                        }
                        region = nil  // unmapping after the clock stops, as on the C side
                        return sample
                    }
                },
                c: { count in
                    try self.cSamples("cref_first_touch", count: count) {
                        cref_first_touch(cName, size, prefault ? 1 : 0, Int32(count), $0)
                    }
                })
        }
    }

    /// Copying into a faulted region through `withUnsafeMutableBytes`, against `memcpy`.
    func copyBandwidth() throws -> [ComparisonResult] {
        try cleanUp.checkpoint()
        let size = 16 << 20
        var options = SharedRegionOptions()
        options.prefault = true
        let address = try target(.posix, uniqueName("copy")).address
        let cName = try target(.posix, uniqueName("copy-c")).cName
        let region = try SharedRegions.open(address, size: size, mode: .create, options: options)
        defer { try? region.remove() }
        try region.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }  // as the C side does
        let source = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { source.deallocate() }
        // The bytes the C side copies too: on some virtual machines copy speed depends on them.
        source.initializeMemory(as: UInt8.self, repeating: 0xA5)
        return [
            try compare(
                section: "copy bandwidth", mechanism: "posix", metric: "copy 16 MiB into the region",
                unit: "GB/s", higherIsBetter: true, iterations: iterations(200), value: { Double(size) / Double($0) },
                swift: { count in
                    try (0..<count).map { _ in
                        try timed { try region.withUnsafeMutableBytes { _ = memcpy($0.baseAddress!, source.baseAddress!, size) } }
                    }
                },
                c: { count in try self.cSamples("cref_copy", count: count) { cref_copy(cName, size, Int32(count), $0) } })
        ]
    }
}

extension ComparisonRun {
    /// A 4 KiB `write` and `read(at:into:)`, which copy under the library's SIGBUS guard (and
    /// check bounds), against a bare `memcpy` into and out of a shared mapping. One sample is a
    /// batch of copies of the same 4 KiB, so the clock's own cost is spread thin.
    func guardedCopies() throws -> [ComparisonResult] {
        let size = 4096
        let batch = 1000
        var options = SharedRegionOptions()
        options.prefault = true
        let address = try target(.posix, uniqueName("guarded")).address
        let region = try SharedRegions.open(address, size: size, mode: .create, options: options)
        defer { try? region.remove() }
        // Page-aligned, as the C side's (cref_small_copies): a copy's speed depends on where in a page it starts.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xA5)
        return try [true, false].map { writing in
            let cName = try target(.posix, uniqueName("guarded-c")).cName
            return try compare(
                section: "guarded copy", mechanism: "posix", metric: writing ? "write 4 KiB" : "read 4 KiB into a buffer",
                unit: "ns", iterations: iterations(400), value: { Double($0) / Double(batch) },
                swift: { count in
                    try (0..<count).map { _ in
                        try timed {
                            for _ in 0..<batch {
                                if writing {
                                    try region.write(UnsafeRawBufferPointer(buffer), at: 0)
                                } else {
                                    try region.read(at: 0, into: buffer)
                                }
                            }
                        }
                    }
                },
                c: { count in
                    try self.cSamples("cref_small_copies", count: count) {
                        cref_small_copies(cName, size, writing ? 1 : 0, Int32(batch), Int32(count), $0)
                    }
                })
        }
    }
}
