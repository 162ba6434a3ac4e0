#if canImport(Glibc)
import Glibc
#endif
import SeededRandom
import SharedMemory
import SystemPackage
import Testing

/// Many regions, many processes, and processes killed half-way: no crash, no leak, every
/// failure typed, and nothing half-made for the next opener.
@Suite("Stress")
struct StressTests {
    static let named = SharedRegionBackend.available.filter { $0.capabilities.contains(.named) }

    @Test("64 regions created, attached by 4 processes each, removed", arguments: named)
    func manyRegionsManyProcesses(backend: SharedRegionBackend) throws {
        var addresses: [RegionAddress] = []
        defer { addresses.forEach(cleanUp) }
        var regions: [any SharedRegion] = []
        for index in 0..<64 {
            let address = try TestNames.address(backend, "many")
            addresses.append(address)
            regions.append(try SharedRegions.open(address, size: 4096 + index, mode: .create))
            try regions[index].write([UInt8(index)], at: 4095 + index)
        }
        let peers = try (0..<4).map { _ in
            try ChildProcess("SharedMemoryTestPeer", ["hold", "64"] + addresses.map(\.description) + ["say", "held", "wait"])
        }
        for peer in peers { #expect(try peer.readLine() == "held") }
        if backend == .systemV {
            for region in regions { #expect(try region.status().attachCount == 5) }
        }
        for peer in peers {
            try peer.send("go")
            try peer.expectSuccess()
        }
        for (index, region) in regions.enumerated() {
            #expect(try region.read(at: 4095 + index, count: 1) == [UInt8(index)])
            try region.remove()
        }
        for address in addresses {
            #expect((#expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) })?.code == .notFound)
        }
    }

    @Test("8 processes open, write, close and remove the same name: only typed notFound failures, no leak", arguments: named)
    func hammerOneName(backend: SharedRegionBackend) throws {
        let address = try TestNames.address(backend, "hammer")
        defer { cleanUp(address) }
        let peers = try (0..<8).map { _ in try ChildProcess.peer("hammer", "\(address)", "8192", "300") }
        for peer in peers {
            let result = try peer.finish()
            #expect(result.status == 0, "\(String(decoding: result.output, as: UTF8.self)) \(result.errors)")
        }
        try? SharedRegions.remove(address)
        #expect((#expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) })?.code == .notFound)
    }

    /// A System V object this process just created can be removed by key by another one before
    /// it is attached (`shmat`) or initialised (`SETALL`): open-or-create goes round again
    /// instead of reporting `.notFound` ("Identifier removed").
    @Test(
        "System V open-or-create under create/remove churn by two processes never fails",
        .enabled(if: SharedRegionBackend.systemV.isAvailable), arguments: ["region", "sem"])
    func systemVChurn(kind: String) throws {
        let address = try TestNames.address(.systemV, "churn")
        defer { kind == "sem" ? removeSemaphores(address) : cleanUp(address) }
        let peers = try (0..<2).map { _ in try ChildProcess.peer("open-or-create-churn", kind, "\(address)", "400") }
        for peer in peers {
            let result = try peer.finish()
            #expect(result.status == 0, "\(result.errors)")
        }
    }

    @Test("a peer killed at a random point of create, open or write leaves nothing half-made", arguments: named)
    func killedMidway(backend: SharedRegionBackend) throws {
        var random = SeededRandom(seed: 0x5EED_0000 + UInt64(SharedRegionBackend.allCases.firstIndex(of: backend)!))
        let size = 3 * 4096 + 5
        for _ in 0..<6 {
            let address = try TestNames.address(backend, "killed")
            defer { cleanUp(address) }
            let peer = try ChildProcess.peer("churn", "\(address)", "\(size)")
            for _ in 0..<Int.random(in: 1...25, using: &random) { _ = try peer.readLine() }
            kill(peer.pid, SIGKILL)
            #expect(try peer.finish().status == 128 + SIGKILL)

            // The next opener finds it whole or not at all, without waiting for a size.
            var options = SharedRegionOptions()
            options.sizeWait = .zero
            do {
                let region = try SharedRegions.open(address, mode: .open, options: options)
                #expect(region.byteCount == size)
                // Whole means sized: the bytes are zero until the creator writes them.
                #expect([[0x00], [0x5A]].contains(try region.read(at: 0, count: 1)))
            } catch {
                #expect(error.code == .notFound, "\(error)")
            }
            // What is left: a System V segment is stale (creator killed, nothing attached) and
            // `shm remove --stale` takes it; a POSIX or file object is whole, removed by name.
            if backend == .systemV, (try? SharedRegions.status(of: address)) != nil {
                let removed = try ChildProcess("shm", ["remove", "--stale", "\(address)"]).finish()
                #expect(String(decoding: removed.output, as: UTF8.self).hasPrefix("removed \(address)"), "\(removed.errors)")
            }
            try? SharedRegions.remove(address)
            #expect((#expect(throws: SharedMemoryError.self) { try SharedRegions.status(of: address) })?.code == .notFound)
        }
    }
}
