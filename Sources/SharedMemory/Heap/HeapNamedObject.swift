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

    /// A type and its default name, never freed once published in `recentNames`.
    private final class NameBox: @unchecked Sendable {
        // @unchecked: `utf8` is written once, in `init`, and only read after.
        let type: ObjectIdentifier
        let name: String
        /// `name`'s UTF-8, so that `find` compares it with a record's without touching a String.
        let utf8: UnsafeRawBufferPointer

        init(_ type: ObjectIdentifier, _ name: String) {
            (self.type, self.name) = (type, name)
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: name.utf8.count, alignment: 8)
            bytes.copyBytes(from: name.utf8)
            utf8 = UnsafeRawBufferPointer(bytes)
        }

        deinit { utf8.deallocate() }
    }

    /// 64 slots, by the type's metadata address, each 0 or a `NameBox` that stays: `find` reads
    /// its type's name here without a lock. A type whose slot another took uses `defaultNames`.
    nonisolated(unsafe) static let recentNames: UnsafeMutablePointer<Atomic<UInt>> = {
        let slots = UnsafeMutablePointer<Atomic<UInt>>.allocate(capacity: 64)
        for index in 0..<64 { (slots + index).initialize(to: Atomic(0)) }
        return slots
    }()

    /// The UTF-8 of `T`'s default name, once `defaultName` published it in `names`
    /// (`recentNames`; it then stays for the life of the process), without a lock, a copy or
    /// reference counting; nil before.
    @inline(__always)
    static func defaultNameUTF8<T>(_ type: T.Type, in names: UnsafeMutablePointer<Atomic<UInt>>) -> UnsafeRawBufferPointer? {
        let key = ObjectIdentifier(T.self)
        let published = (names + Int((UInt(bitPattern: key) >> 4) & 63)).pointee.load(ordering: .acquiring)
        guard published != 0, let pointer = UnsafeRawPointer(bitPattern: published) else { return nil }
        return Unmanaged<NameBox>.fromOpaque(pointer)._withUnsafeGuaranteedRef { $0.type == key ? $0.utf8 : nil }
    }

    private static func defaultName<T>(_ type: T.Type) -> String {
        let key = ObjectIdentifier(T.self)
        let slot = recentNames + Int((UInt(bitPattern: key) >> 4) & 63)
        let published = slot.pointee.load(ordering: .acquiring)
        if published != 0, let pointer = UnsafeRawPointer(bitPattern: published),
            let name = Unmanaged<NameBox>.fromOpaque(pointer)._withUnsafeGuaranteedRef({ $0.type == key ? $0.name : nil })
        {
            return name
        }
        let name: String
        if let known = defaultNames.withLock({ $0[key] }) {
            name = known
        } else {
            name = String(reflecting: T.self)
            defaultNames.withLock { $0[key] = name }
        }
        if published == 0 {
            let box = Unmanaged.passRetained(NameBox(key, name))
            let bits = UInt(bitPattern: box.toOpaque())
            if !slot.pointee.compareExchange(expected: 0, desired: bits, ordering: .releasing).exchanged { box.release() }
        }
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
