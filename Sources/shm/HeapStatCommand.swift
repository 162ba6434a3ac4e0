import ArgumentParser
import Foundation
import SharedMemory

struct HeapStatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show a heap's size, free bytes, largest free block, named objects and allocations.",
        discussion: "Every block and the free list are walked and checked (SharedHeap.verify).")

    @OptionGroup var heap: HeapOptions

    func run() throws {
        try reportingErrors {
            let opened = try heap.open()
            let report = HeapReport(opened, try opened.verify())
            Output.line(heap.json ? report.json : report.table)
        }
    }
}

/// A heap's statistics as `shm heap stat` prints them; the JSON keys are the scriptable contract.
struct HeapReport: Encodable {
    var address: String
    var backend: String
    var offset: Int
    var size: Int
    var free: Int
    var largest_free_block: Int
    var free_blocks: Int
    var fragmentation: Double
    var allocations: Int
    var named_objects: Int
    var recoveries: Int

    init(_ heap: SharedHeap, _ statistics: HeapStatistics) {
        address = heap.region.address.description
        backend = heap.region.address.backend.rawValue
        offset = heap.offset
        size = statistics.byteCount
        free = statistics.freeByteCount
        largest_free_block = statistics.largestFreeBlock
        free_blocks = statistics.freeBlockCount
        fragmentation = (statistics.fragmentation * 1000).rounded() / 1000
        allocations = statistics.allocationCount
        named_objects = statistics.namedObjectCount
        recoveries = statistics.recoveries
    }

    var json: String { encodedJSON(self) }

    var table: String {
        StatusReport.table([
            ("address", address), ("backend", backend), ("offset", "\(offset)"), ("size", "\(size)"),
            ("free", "\(free)"), ("largest free", "\(largest_free_block)"), ("free blocks", "\(free_blocks)"),
            ("fragmentation", String(format: "%.3f", fragmentation)), ("allocations", "\(allocations)"),
            ("named objects", "\(named_objects)"), ("recoveries", "\(recoveries)"),
        ])
    }
}

/// One line of sorted-key JSON.
func encodedJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
}
