/// A key of a `SharedHashMap`: turned into the same bytes in every process, which the map
/// hashes (64-bit FNV-1a: Swift's `Hasher` is seeded per process) and stores.
///
/// `String` (its UTF-8), `[UInt8]` and the fixed-width integers (little-endian) conform. A
/// `BitwiseCopyable` type of your own conforms with an empty extension, its key being its
/// bytes in memory: give it no padding between or after its fields, whose bytes are undefined.
public protocol SharedHashMapKey {
    /// Calls `body` with the key's bytes: 1 to 1,024 of them.
    func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws(SharedMemoryError) -> R) throws(SharedMemoryError) -> R
    /// The key whose bytes are `bytes`, or nil when they are no such key.
    init?(keyBytes bytes: UnsafeRawBufferPointer)
    /// The key type's name in the map's type fingerprint.
    static var keyTypeName: String { get }
}

extension SharedHashMapKey where Self: BitwiseCopyable {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws(SharedMemoryError) -> R) throws(SharedMemoryError) -> R {
        var copy = self
        return try withUnsafeBytes(of: &copy) { (bytes) throws(SharedMemoryError) in try body(UnsafeRawBufferPointer(bytes)) }
    }

    public init?(keyBytes bytes: UnsafeRawBufferPointer) {
        guard bytes.count == MemoryLayout<Self>.size else { return nil }
        self = bytes.loadUnaligned(as: Self.self)
    }

    public static var keyTypeName: String { HeapObjectType.of(Self.self).name }
}

extension SharedHashMapKey where Self: FixedWidthInteger & BitwiseCopyable {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws(SharedMemoryError) -> R) throws(SharedMemoryError) -> R {
        var little = littleEndian
        return try withUnsafeBytes(of: &little) { (bytes) throws(SharedMemoryError) in try body(UnsafeRawBufferPointer(bytes)) }
    }

    public init?(keyBytes bytes: UnsafeRawBufferPointer) {
        guard bytes.count == MemoryLayout<Self>.size else { return nil }
        self.init(littleEndian: bytes.loadUnaligned(as: Self.self))
    }
}

extension Int: SharedHashMapKey {}
extension Int8: SharedHashMapKey {}
extension Int16: SharedHashMapKey {}
extension Int32: SharedHashMapKey {}
extension Int64: SharedHashMapKey {}
extension UInt: SharedHashMapKey {}
extension UInt8: SharedHashMapKey {}
extension UInt16: SharedHashMapKey {}
extension UInt32: SharedHashMapKey {}
extension UInt64: SharedHashMapKey {}

extension String: SharedHashMapKey {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws(SharedMemoryError) -> R) throws(SharedMemoryError) -> R {
        var text = self
        var result: Result<R, SharedMemoryError>!
        text.withUTF8 { utf8 in result = Result { () throws(SharedMemoryError) in try body(UnsafeRawBufferPointer(utf8)) } }
        return try result.get()
    }

    public init?(keyBytes bytes: UnsafeRawBufferPointer) {
        self.init(validating: bytes, as: UTF8.self)
    }

    public static var keyTypeName: String { "Swift.String" }
}

extension Array: SharedHashMapKey where Element == UInt8 {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws(SharedMemoryError) -> R) throws(SharedMemoryError) -> R {
        var result: Result<R, SharedMemoryError>!
        withUnsafeBytes { bytes in result = Result { () throws(SharedMemoryError) in try body(bytes) } }
        return try result.get()
    }

    public init?(keyBytes bytes: UnsafeRawBufferPointer) {
        self.init(bytes)
    }

    public static var keyTypeName: String { "Swift.Array<Swift.UInt8>" }
}
