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
        #expect(try RegionAddress(parsing: "sysv:4294967295").description == "sysv:0xffffffff")
        #expect(try RegionAddress(parsing: "sysv:0x00000017").description == "sysv:0x17")
        #expect(try RegionAddress(parsing: "sysv:1").description == "sysv:0x1")
    }

    /// One spelling per key: a sign, a leading zero (octal to C's strtol, decimal to others),
    /// a tenth digit or a ninth hex digit is refused with the rule, not guessed at.
    @Test(
        "a key with a sign, a leading zero or too many digits is refused, stating the rule",
        arguments: [
            "sysv:-1", "sysv:+7", "sysv:00017", "sysv:0017", "sysv:4294967296", "sysv:0x", "sysv:0x123456789",
            "sysv:0x+7", "sysv:0x-1", "sysv: 7", "sysv:7 ", "sysv:0x1g", "sysv:1e3", "sysv:id=+5", "sysv:id=-1",
            "sysv:id=007",
        ])
    func refusedKeys(text: String) {
        let error = #expect(throws: SharedMemoryError.self) { try RegionAddress(parsing: text) }
        #expect(error?.code == .invalidAddress)
        if !text.hasPrefix("sysv:id=") {
            #expect(error?.message.contains("1 to 8 hex digits") == true, "\(String(describing: error))")
            #expect(error?.message.contains("without sign or leading zero") == true)
        }
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
