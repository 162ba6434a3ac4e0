import Foundation
import SharedMemory
import Testing

@Suite("Addresses")
struct AddressTests {
    @Test(
        "addresses print as they parse",
        arguments: [
            "posix:/orders", "sysv:0x366378", "sysv:ftok:/tmp#1", "sysv:id=32768", "sysv:private",
            "file:/var/tmp/orders", "memfd:orders",
        ])
    func roundTrip(text: String) throws {
        let address = try RegionAddress(parsing: text)
        #expect(address.description == text)
        #expect(RegionAddress(text) == address)
    }

    @Test("keys parse in decimal and hex, and print in hex")
    func keys() throws {
        #expect(try RegionAddress(parsing: "sysv:3564408") == .systemV(.key(0x366378)))
        #expect(try RegionAddress(parsing: "sysv:0xFFFFFFFF") == .systemV(.key(-1)))
        #expect(try RegionAddress(parsing: "sysv:-1").description == "sysv:0xffffffff")
    }

    @Test("addresses are Codable as their string")
    func codable() throws {
        let addresses = try ["posix:/a", "sysv:0x10", "file:/tmp/x"].map { try RegionAddress(parsing: $0) }
        let data = try JSONEncoder().encode(addresses)
        #expect(String(decoding: data, as: UTF8.self) == #"["posix:\/a","sysv:0x10","file:\/tmp\/x"]"#)
        #expect(try JSONDecoder().decode([RegionAddress].self, from: data) == addresses)
        #expect(throws: (any Error).self) { try JSONDecoder().decode([RegionAddress].self, from: Data(#"["nope"]"#.utf8)) }
    }

    @Test("one logical name maps to each backend's native address")
    func logicalNames() throws {
        #expect(try SharedRegionBackend.posix.address(forName: "orders").description == "posix:/orders")
        #expect(try SharedRegionBackend.memfd.address(forName: "orders").description == "memfd:orders")
        let key = try SharedRegionBackend.systemV.address(forName: "orders")
        #expect(key == (try SharedRegionBackend.systemV.address(forName: "orders")))
        #expect(key != (try SharedRegionBackend.systemV.address(forName: "orderz")))
        guard case .file(let path) = try SharedRegionBackend.file.address(forName: "orders") else {
            Issue.record("the file backend maps names to file: addresses")
            return
        }
        #expect(path.string.hasSuffix("/orders.shm"))
        #expect(throws: SharedMemoryError.self) { try SharedRegionBackend.posix.address(forName: "a/b") }
        #expect(throws: SharedMemoryError.self) { try SharedRegionBackend.systemV.address(forName: "") }
    }

    @Test("backends come from their names and from SHARED_MEMORY_BACKEND")
    func backendFromEnvironment() throws {
        for backend in SharedRegionBackend.allCases {
            #expect(SharedRegionBackend(backend.description) == backend)
        }
        let variable = "SHARED_MEMORY_BACKEND_TEST_\(getpid())"
        #expect(try SharedRegionBackend.fromEnvironment(variable) == nil)
        setenv(variable, "posix", 1)
        defer { unsetenv(variable) }
        #expect(try SharedRegionBackend.fromEnvironment(variable) == .posix)
        setenv(variable, "bogus", 1)
        #expect(throws: SharedMemoryError.self) { try SharedRegionBackend.fromEnvironment(variable) }
    }

    @Test("every backend of this Linux machine is available")
    func availability() {
        #expect(SharedRegionBackend.available == SharedRegionBackend.allCases)
    }
}
