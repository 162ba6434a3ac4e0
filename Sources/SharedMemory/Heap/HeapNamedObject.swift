import Synchronization

/// A named object's type fingerprint: its element's size and alignment and a name the caller
/// gives (by default `String(reflecting: T.self)`). A `find` that expects another fingerprint
/// is refused, so a process never reads a value as a type it was not written as.
public struct HeapObjectType: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The type's name, as the constructing process gave it.
    public var name: String
    /// `MemoryLayout.size` of one element.
    public var size: Int
    /// `MemoryLayout.alignment` of one element.
    public var alignment: Int

    public init(name: String, size: Int, alignment: Int) {
        (self.name, self.size, self.alignment) = (name, size, alignment)
    }

    /// The fingerprint of `T`, named `name` or `String(reflecting: T.self)`.
    public static func of<T: BitwiseCopyable>(_ type: T.Type, name: String? = nil) -> HeapObjectType {
        HeapObjectType(
            name: name ?? defaultName(T.self), size: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
    }

    /// `String(reflecting:)` walks the type's metadata each time: worked out once per type.
    private static let defaultNames = Mutex<[ObjectIdentifier: String]>([:])

    private static func defaultName<T>(_ type: T.Type) -> String {
        let key = ObjectIdentifier(T.self)
        if let name = defaultNames.withLock({ $0[key] }) { return name }
        let name = String(reflecting: T.self)
        defaultNames.withLock { $0[key] = name }
        return name
    }

    public var description: String { "\(name) (\(size) bytes, alignment \(alignment))" }
}

/// One named object of a `SharedHeap`, as `namedObjects()` lists it.
public struct HeapNamedObject: Sendable, Hashable {
    /// The name it was constructed with.
    public var name: String
    /// Where its value (its first element) starts in the region.
    public var offset: RegionOffset<UInt8>
    /// Its elements: 1 for a single value.
    public var count: Int
    /// Its value's bytes: `count` elements, each `size` rounded up to `alignment`.
    public var byteCount: Int
    /// The fingerprint it was constructed with.
    public var type: HeapObjectType
}
