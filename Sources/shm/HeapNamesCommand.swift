import ArgumentParser
import SharedMemory

struct HeapNamesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "names",
        abstract: "List a heap's named objects: name, offset, size, count and type.",
        discussion: "The offset is where the value starts in the region; `shm read ADDRESS --offset N --count SIZE` shows it.")

    @OptionGroup var heap: HeapOptions

    func run() throws {
        try reportingErrors {
            let objects = try heap.open().namedObjects().map(NamedObjectReport.init)
            if heap.json {
                Output.line(encodedJSON(objects))
            } else {
                let rows = [["name", "offset", "size", "count", "type"]]
                    + objects.map { [$0.name, "\($0.offset)", "\($0.size)", "\($0.count)", $0.typeDescription] }
                let widths = (0..<4).map { column in rows.map { $0[column].count }.max()! + 2 }
                Output.line(rows.map { row in
                    (0..<4).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined() + row[4]
                }.joined(separator: "\n"))
            }
        }
    }
}

/// A named object as `shm heap names --json` prints it; the keys are the scriptable contract.
struct NamedObjectReport: Encodable {
    var name: String
    var offset: Int64
    var size: Int
    var count: Int
    var type: String
    var type_size: Int
    var type_alignment: Int

    init(_ object: HeapNamedObject) {
        name = object.name
        offset = object.offset.byteOffset
        size = object.byteCount
        count = object.count
        type = object.type.name
        type_size = object.type.size
        type_alignment = object.type.alignment
    }

    var typeDescription: String { "\(type) (\(type_size) bytes, alignment \(type_alignment))" }
}
