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
}
