import ArgumentParser
import SharedMemory

struct HeapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heap",
        abstract: "Look inside a SharedHeap: its statistics, its named objects.",
        discussion: """
            The heap is looked for where SharedHeap puts it: after the once-only header of \
            SharedHeap.openInitialized (offset 64), or at offset 0; --offset names another place. \
            Looking takes the heap's lock, and repairs what a process killed inside an operation \
            left, as any user of the heap would.
            """,
        subcommands: [HeapStatCommand.self, HeapNamesCommand.self]
    )
}

/// The region and heap options the `shm heap` verbs share.
struct HeapOptions: ParsableArguments {
    @Argument(help: "The region's address.", transform: parseAddress)
    var address: RegionAddress

    @Option(help: "Where the heap starts in the region (a multiple of 64); by default 64, else 0.")
    var offset: Int?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var trust: TrustOptions

    /// The heap at `offset`, or where `SharedHeap` puts one.
    ///
    /// - Throws: `.layoutMismatch` with a hint when no heap is found there.
    func open() throws -> SharedHeap {
        let region = try SharedRegions.open(address, mode: .open, options: trust.regionOptions)
        if let offset { return try SharedHeap(in: region, at: offset) }
        var found: [String] = []
        for candidate in [RegionLayout.headerByteCount, 0] where candidate <= region.byteCount - SharedHeap.minimumByteCount {
            switch Result(catching: { () throws(SharedMemoryError) in try SharedHeap(in: region, at: candidate) }) {
            case .success(let heap): return heap
            case .failure(let error) where error.code == .layoutMismatch: found.append(error.message)
            case .failure(let error): throw error
            }
        }
        throw SharedMemoryError(
            code: .layoutMismatch, operation: "SharedHeap", address: address.description,
            message: "no SharedHeap at offset \(RegionLayout.headerByteCount) or 0 of this region"
                + (found.isEmpty ? " (it is too small)" : " (" + found.joined(separator: "; ") + ")"),
            hint: "give --offset where the heap starts, or check the address: `shm stat \(address)` shows the region")
    }
}
