/// The 32-bit FNV-1a hash: small, stable across runs and machines, good enough to turn a
/// name into a System V key or a layout identifier.
enum FNV1a {
    static func hash(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return hash
    }

    /// The 64-bit FNV-1a hash of `bytes`: what the heap's name table and hash map hash with,
    /// the same in every process (Swift's `Hasher` is seeded per process).
    static func hash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
