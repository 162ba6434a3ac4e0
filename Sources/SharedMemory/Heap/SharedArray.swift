/// A growable array of `Element` that lives entirely in a `SharedHeap`, found by name from any
/// process that attached the heap: its header is a named object ("SharedArray<Element>"), its
/// elements one allocation that doubles when full.
///
/// ```swift
/// let heap = try SharedHeap.openInitialized(.posix(name: "/app-heap"), byteCount: 1 << 20)
/// let readings = try SharedArray<Double>(openingOrCreating: "readings", in: heap)
/// try readings.append(21.5)
/// print(try readings.count, try readings[0])
/// ```
///
/// Every operation holds the heap's lock (`ProcessMutex`, `futex` underneath) and goes through
/// its undo log, so a process killed inside `append`, `removeLast` or a growth leaves the array
/// as it was before the operation or after it. An element overwritten in place (`set`) by a
/// process killed half-way through the copy may hold a mix of old and new bytes.
///
/// Trust: the header, the storage's offset, capacity and count are checked before use
/// (`.corrupted`); a peer can still write any bytes into the elements.
public struct SharedArray<Element: BitwiseCopyable>: Sendable {
    /// The heap it lives in.
    public let heap: SharedHeap
    /// Its name among the heap's named objects.
    public let name: String
    /// Where its header is (the named object's value), and its record.
    let container: HeapContainer
    var header: Int { container.header }

    /// Header words: a magic number, the storage's offset (0 for none), capacity, count.
    static var headerType: HeapObjectType {
        HeapObjectType(name: "SharedArray<\(HeapObjectType.of(Element.self).name)>", size: 32, alignment: 8)
    }
    static var magic: UInt64 { 0x5941_5252_414D_4853 }  // "SHMARRAY"
    private static var stride: Int { MemoryLayout<Element>.stride }

    /// Creates the array `name` in `heap`, empty, with room for `capacity` elements.
    ///
    /// - Throws: `.alreadyExists` when the heap has a named object `name`; `.noSpace`;
    ///   `.invalidArgument` for an `Element` with spare bit patterns (`Bool`, enums) or a bad name.
    public init(creating name: String, in heap: SharedHeap, capacity: Int = 0) throws(SharedMemoryError) {
        try self.init(name, heap, create: true, capacity: capacity, "SharedArray(creating:)")
    }

    /// Opens the array `name` that some process created in `heap`.
    ///
    /// - Throws: `.notFound`; `.layoutMismatch` when `name` is another kind of object or an
    ///   array of another element type; `.corrupted`.
    public init(opening name: String, in heap: SharedHeap) throws(SharedMemoryError) {
        try self.init(name, heap, create: false, capacity: 0, "SharedArray(opening:)")
    }

    /// Opens the array `name`, or creates it empty when there is none: exactly one of many
    /// processes that race to do this creates it.
    public init(openingOrCreating name: String, in heap: SharedHeap) throws(SharedMemoryError) {
        try self.init(name, heap, create: nil, capacity: 0, "SharedArray(openingOrCreating:)")
    }

    private init(_ name: String, _ heap: SharedHeap, create: Bool?, capacity: Int, _ operation: String)
        throws(SharedMemoryError)
    {
        try TypedValue.checkEveryBitPatternIsValid(Element.self, address: heap.region.address, operation: operation)
        guard capacity >= 0 else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: operation, address: heap.region.address.description,
                message: "a capacity of \(capacity) elements", hint: "give a capacity of 0 or more")
        }
        self.heap = heap
        self.name = name
        container = try heap.placeContainer(
            name, Self.headerType, initial: [Self.magic, 0, 0, 0], create: create, operation)
        if capacity > 0 { try reserveCapacity(capacity) }
    }

    /// The elements it holds.
    public var count: Int {
        get throws(SharedMemoryError) {
            try locked("SharedArray.count") { (state, _) throws(SharedMemoryError) in state.count }
        }
    }

    /// The element at `index`.
    ///
    /// - Throws: `.outOfBounds` for an index outside `0..<count`; `.corrupted`.
    public subscript(index: Int) -> Element {
        get throws(SharedMemoryError) {
            let operation = "SharedArray[]"
            return try locked(operation) { (state, _) throws(SharedMemoryError) in
                try checkIndex(index, state.count, operation)
                return try heap.words.bytes(at: state.storage + index * Self.stride, count: MemoryLayout<Element>.size, operation)
                    .loadUnaligned(as: Element.self)
            }
        }
    }

    /// Replaces the element at `index`.
    ///
    /// - Throws: `.outOfBounds` for an index outside `0..<count`; `.corrupted`.
    public func set(_ element: Element, at index: Int) throws(SharedMemoryError) {
        let operation = "SharedArray.set"
        try locked(operation) { (state, _) throws(SharedMemoryError) in
            try checkIndex(index, state.count, operation)
            try write(element, at: state.storage + index * Self.stride, operation)
        }
    }

    /// Adds `element` at the end, doubling the storage when it is full.
    ///
    /// - Throws: `.noSpace` when the heap cannot hold the larger storage; `.corrupted`.
    public func append(_ element: Element) throws(SharedMemoryError) {
        let operation = "SharedArray.append"
        try locked(operation) { (state, log) throws(SharedMemoryError) in
            var state = state
            if state.count == state.capacity { state = try grow(state, to: max(4, state.capacity * 2), &log, operation) }
            // Past the count, so unseen until the count moves.
            try write(element, at: state.storage + state.count * Self.stride, operation)
            try log.set(header + 24, UInt64(state.count + 1), operation)
        }
    }

    /// Removes and returns the last element, or nil when it is empty.
    public func removeLast() throws(SharedMemoryError) -> Element? {
        let operation = "SharedArray.removeLast"
        return try locked(operation) { (state, log) throws(SharedMemoryError) in
            guard state.count > 0 else { return nil }
            let last = try heap.words.bytes(
                at: state.storage + (state.count - 1) * Self.stride, count: MemoryLayout<Element>.size, operation
            ).loadUnaligned(as: Element.self)
            try log.set(header + 24, UInt64(state.count - 1), operation)
            return last
        }
    }

    /// Every element, in order.
    public func elements() throws(SharedMemoryError) -> [Element] {
        let operation = "SharedArray.elements"
        return try locked(operation) { (state, _) throws(SharedMemoryError) in
            let bytes = try heap.words.bytes(at: state.storage, count: state.count * Self.stride, operation)
            return (0..<state.count).map { bytes.loadUnaligned(fromByteOffset: $0 * Self.stride, as: Element.self) }
        }
    }

    /// Makes room for `capacity` elements in all.
    ///
    /// - Throws: `.noSpace`; `.invalidArgument` for more elements than the heap has bytes.
    public func reserveCapacity(_ capacity: Int) throws(SharedMemoryError) {
        let operation = "SharedArray.reserveCapacity"
        try locked(operation) { (state, log) throws(SharedMemoryError) in
            if capacity > state.capacity { _ = try grow(state, to: capacity, &log, operation) }
        }
    }

    /// Destroys the array: its storage and its name go back to the heap. Other processes'
    /// `SharedArray` values for it then get `.corrupted` or `.notFound`.
    public func destroy() throws(SharedMemoryError) {
        let operation = "SharedArray.destroy"
        try locked(operation, changingNames: true) { (state, log) throws(SharedMemoryError) in
            if state.storage != 0 {
                try heap.release(try heap.allocatedBlock(payload: state.storage, role: "the array's storage", operation), &log, operation)
            }
            try container.remove(from: heap, &log, operation)
        }
    }

    /// The header's fields, checked: the storage is an allocation that holds `capacity`
    /// elements, and `count` is at most `capacity`.
    struct State {
        var storage: Int
        var capacity: Int
        var count: Int
    }

    private func locked<R>(
        _ operation: String, changingNames: Bool = false, _ body: (State, inout HeapUndoLog) throws(SharedMemoryError) -> R
    ) throws(SharedMemoryError) -> R {
        try heap.withLockedHeap(operation, changingNames: changingNames) { (log) throws(SharedMemoryError) in
            try body(try state(operation), &log)
        }
    }

    private func state(_ operation: String) throws(SharedMemoryError) -> State {
        let words = heap.words
        try container.check(in: heap, magic: Self.magic, operation)
        let storage = try words.load(header + 8, operation)
        let capacity = try words.load(header + 16, operation)
        let count = try words.load(header + 24, operation)
        var room = 0
        if storage != 0 {
            let block = try heap.allocatedBlock(payload: Int(clamping: storage), role: "the array's storage", operation)
            room = (block.size - HeapLayout.blockHeader) / Self.stride
        }
        guard capacity <= UInt64(room), count <= capacity else {
            throw .corrupted(
                operation, heap.region.address, field: "the count of the array \"\(name)\"", value: count,
                rule: "it is at most the capacity (\(capacity)), which its storage of \(room) elements holds")
        }
        return State(storage: Int(storage), capacity: Int(capacity), count: Int(count))
    }

    /// Moves the elements to a new storage of `capacity` elements (committed on its own).
    private func grow(_ state: State, to capacity: Int, _ log: inout HeapUndoLog, _ operation: String)
        throws(SharedMemoryError) -> State
    {
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: Self.stride)
        guard !overflow, bytes <= heap.byteCount else {
            throw SharedMemoryError(
                code: .noSpace, operation: operation, address: heap.region.address.description,
                message: "\(capacity) elements of \(Self.stride) bytes do not fit in a heap of \(heap.byteCount) bytes",
                hint: "make a larger heap")
        }
        let words = heap.words
        // A fresh allocation nothing refers to until the header does: its bytes need no log.
        let storage = try heap.allocateHoldingLock(
            byteCount: bytes, alignment: max(HeapLayout.granule, MemoryLayout<Element>.alignment), &log, operation)
        if state.count > 0 {
            let used = state.count * Self.stride
            try words.bytes(at: storage, count: used, operation).copyMemory(
                from: UnsafeRawBufferPointer(try words.bytes(at: state.storage, count: used, operation)))
        }
        try log.set(header + 8, UInt64(storage), operation)
        try log.set(header + 16, UInt64(capacity), operation)
        if state.storage != 0 {
            try heap.release(try heap.allocatedBlock(payload: state.storage, role: "the array's storage", operation), &log, operation)
        }
        try log.commit(operation)
        return State(storage: storage, capacity: capacity, count: state.count)
    }

    private func write(_ element: Element, at offset: Int, _ operation: String) throws(SharedMemoryError) {
        let destination = try heap.words.bytes(at: offset, count: MemoryLayout<Element>.size, operation)
        withUnsafeBytes(of: element) { destination.copyMemory(from: $0) }
    }

    private func checkIndex(_ index: Int, _ count: Int, _ operation: String) throws(SharedMemoryError) {
        guard index >= 0, index < count else {
            throw SharedMemoryError(
                code: .outOfBounds, operation: operation, address: heap.region.address.description,
                message: "index \(index) is outside the array \"\(name)\" of \(count) elements",
                hint: "use an index from 0 to count - 1")
        }
    }
}
