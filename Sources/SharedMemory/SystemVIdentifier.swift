/// How a System V object (a shared-memory segment or a semaphore set) is found.
///
/// The text after `sysv:` in an address: `KEY`, `ftok:/PATH#PROJ`, `id=N` or `private`.
public enum SystemVIdentifier: Hashable, Sendable, CustomStringConvertible {
    /// A key given directly, never 0 (`IPC_PRIVATE`).
    case key(Int32)
    /// The key `ftok(path, project)` computes; the path must exist when the address is used.
    case ftok(path: String, project: UInt8)
    /// An existing object by the id the kernel gave it.
    case id(Int32)
    /// `IPC_PRIVATE`: a new object no key can reach; create only.
    case `private`

    public var description: String {
        switch self {
        case .key(let key): "0x" + String(UInt32(bitPattern: key), radix: 16)
        case .ftok(let path, let project): "ftok:\(path)#\(project)"
        case .id(let id): "id=\(id)"
        case .private: "private"
        }
    }

    init(parsing rest: String, in text: String) throws(SharedMemoryError) {
        if rest == "private" {
            self = .private
        } else if rest.hasPrefix("id=") {
            guard let id = Int32(rest.dropFirst(3)), id >= 0 else {
                throw .invalidAddress(text, "sysv:id= takes the non-negative id that ipcs shows, as in sysv:id=32768")
            }
            self = .id(id)
        } else if rest.hasPrefix("ftok:") {
            let spec = rest.dropFirst(5)
            guard let hash = spec.lastIndex(of: "#") else {
                throw .invalidAddress(text, "sysv:ftok: takes a path and a project number, as in sysv:ftok:/tmp#1")
            }
            let path = String(spec[..<hash])
            guard path.hasPrefix("/"), !path.utf8.contains(0), path.utf8.count < 4096 else {
                throw .invalidAddress(text, "ftok needs an absolute path to an existing file, as in sysv:ftok:/tmp#1")
            }
            guard let project = Int(spec[spec.index(after: hash)...]), (1...255).contains(project) else {
                throw .invalidAddress(text, "the ftok project number is 1…255 (ftok uses its low 8 bits)")
            }
            self = .ftok(path: path, project: UInt8(project))
        } else {
            guard let key = Self.parseKey(rest) else {
                throw .invalidAddress(
                    text, "a System V key is a decimal or 0x-hex number that fits 32 bits, as in sysv:0x366378")
            }
            guard key != 0 else {
                throw .invalidAddress(text, "key 0 is IPC_PRIVATE; write sysv:private to create a private segment")
            }
            self = .key(key)
        }
    }

    private static func parseKey(_ text: String) -> Int32? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") {
            guard let value = UInt32(lower.dropFirst(2), radix: 16) else { return nil }
            return Int32(bitPattern: value)
        }
        if let value = Int32(text) { return value }
        if let value = UInt32(text) { return Int32(bitPattern: value) }
        return nil
    }
}
