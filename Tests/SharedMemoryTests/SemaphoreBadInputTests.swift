import SharedMemory
import Testing

/// Bad input to a semaphore set is a typed error that says what to do, and changes nothing.
@Suite("Semaphore bad input", .enabled(if: SharedRegionBackend.systemV.isAvailable))
struct SemaphoreBadInputTests {
    @Test(
        "creating with a count of 0, above SEMMSL, or none: nothing is made",
        arguments: [(Int?.some(0), SharedMemoryError.Code.invalidSize), (-1, .invalidSize), (nil, .invalidSize)]
            + (SemaphoreLimits.current().map { [($0.semaphoresPerSet + 1, .limitExceeded)] } ?? []))
    func badCount(count: Int?, code: SharedMemoryError.Code) throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let error = #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet(address, count: count, mode: .create) }
        #expect(error?.code == code)
        #expect(error?.hint.isEmpty == false)
        #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet(address, mode: .open) }
    }

    @Test(
        "initial values outside 0…32767 or of the wrong number: nothing is made",
        arguments: [[32768], [-1], [1, 2, 3]])
    func badInitialValues(values: [Int]) throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let error = #expect(throws: SharedMemoryError.self) {
            try SystemVSemaphoreSet(address, count: values.count == 3 ? 2 : 1, initialValues: values)
        }
        #expect(error?.code == .invalidArgument)
        let lookup = #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet(address, mode: .open) }
        #expect(lookup?.code == .notFound)
    }

    @Test("index out of range, delta that overflows, value above SEMVMX, no operations: each typed, nothing changed")
    func badArguments() throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, initialValues: [1, 2])
        let cases: [(String, SharedMemoryError.Code, () throws(SharedMemoryError) -> Void)] = [
            ("index 2 in apply", .outOfBounds, { () throws(SharedMemoryError) in _ = try set.apply([.signal(2)]) }),
            ("index -1 in apply", .outOfBounds, { () throws(SharedMemoryError) in _ = try set.apply([.wait(-1)]) }),
            ("index 2 in value", .outOfBounds, { () throws(SharedMemoryError) in _ = try set.value(at: 2) }),
            ("index 5 in setValue", .outOfBounds, { () throws(SharedMemoryError) in try set.setValue(0, at: 5) }),
            ("index 9 in GETNCNT", .outOfBounds, { () throws(SharedMemoryError) in _ = try set.waitingCount(at: 9) }),
            ("delta 32768", .invalidArgument, { () throws(SharedMemoryError) in _ = try set.apply([.signal(0, by: 32768)]) }),
            ("delta -32768", .invalidArgument, { () throws(SharedMemoryError) in _ = try set.apply([.wait(0, by: 32768)]) }),
            ("delta Int.min", .invalidArgument, { () throws(SharedMemoryError) in _ = try set.apply([.wait(0, by: .min)]) }),
            ("value 32768", .invalidArgument, { () throws(SharedMemoryError) in try set.setValue(32768, at: 0) }),
            ("value -1", .invalidArgument, { () throws(SharedMemoryError) in try set.setValues([1, -1]) }),
            ("three values for two", .invalidArgument, { () throws(SharedMemoryError) in try set.setValues([1, 1, 1]) }),
            ("no operations", .invalidArgument, { () throws(SharedMemoryError) in _ = try set.apply([]) }),
            ("negative timeout", .invalidArgument, { () throws(SharedMemoryError) in
                _ = try set.apply([.wait(0)], timeout: .seconds(-1))
            }),
            ("one operation after another, valid then not", .outOfBounds, { () throws(SharedMemoryError) in
                _ = try set.apply([.signal(0), .signal(7)])
            }),
        ]
        for (label, code, body) in cases {
            let error = #expect(throws: SharedMemoryError.self, "\(label)") { try body() }
            #expect(error?.code == code, "\(label)")
            #expect(error?.hint.isEmpty == false, "\(label)")
        }
        #expect(try set.values() == [1, 2])
    }

    @Test("more operations than SEMOPM in one call", .enabled(if: SemaphoreLimits.current() != nil))
    func tooManyOperations() throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, count: 1)
        let limit = try #require(SemaphoreLimits.current()).operationsPerCall
        let error = #expect(throws: SharedMemoryError.self) {
            try set.apply(Array(repeating: .waitForZero(0), count: limit + 1))
        }
        #expect(error?.code == .limitExceeded)
    }

    @Test("a signal past 32767 is refused by the kernel with a typed error")
    func signalPastMaximum() throws {
        let address = try SemaphoreTests.newAddress()
        defer { removeSemaphores(address) }
        let set = try SystemVSemaphoreSet(address, initialValues: [SemaphoreLimits.maximumValue])
        let error = #expect(throws: SharedMemoryError.self) { try set.signal() }
        #expect(error?.code == .invalidArgument)
        #expect(error?.errno == .outOfRange)
        #expect(try set.value(at: 0) == SemaphoreLimits.maximumValue)
    }

    @Test("a non-System V address is refused", arguments: ["posix:/smtest-sem", "file:/tmp/smtest-sem", "memfd:x"])
    func notSystemV(text: String) throws {
        let error = #expect(throws: SharedMemoryError.self) { try SystemVSemaphoreSet(text, count: 1) }
        #expect(error?.code == .unsupported)
        #expect(error?.hint.contains("sysv:") == true)
    }
}
