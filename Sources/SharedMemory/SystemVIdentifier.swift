/// How a System V object (a shared-memory segment or a semaphore set) is found.
///
/// The text after `sysv:` in an address: `KEY`, `ftok:/PATH#PROJ`, `id=N` or `private`.
///
/// A key is written `0x` and 1 to 8 hex digits (`0x366378`), or in decimal 1…4294967295
/// without sign or leading zero (`3564408`); it always prints back in hex. Anything else, such
/// as `-1`, `+7` or `00017` (octal to C's `strtol`, decimal to others), is refused rather
/// than guessed at.
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
            guard let id = Self.decimal(rest.dropFirst(3)).flatMap(Int32.init(exactly:)) else {
                throw .invalidAddress(
                    text, "sysv:id= takes the id that ipcs shows, in decimal without sign or leading zero, "
                        + "as in sysv:id=32768")
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
                    text, "a System V key is 0x and 1 to 8 hex digits (sysv:0x366378), or a decimal number "
                        + "1…4294967295 without sign or leading zero (sysv:3564408)")
            }
            guard key != 0 else {
                throw .invalidAddress(text, "key 0 is IPC_PRIVATE; write sysv:private to create a private segment")
            }
            self = .key(key)
        }
    }

    private static func parseKey(_ text: String) -> Int32? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            let digits = text.dropFirst(2)
            guard (1...8).contains(digits.utf8.count), digits.utf8.allSatisfy(hexDigits.contains) else { return nil }
            return UInt32(digits, radix: 16).map { Int32(bitPattern: $0) }
        }
        return decimal(Substring(text)).flatMap(UInt32.init(exactly:)).map { Int32(bitPattern: $0) }
    }

    private static let hexDigits = Set("0123456789abcdefABCDEF".utf8)

    /// Digits only, no sign, no leading zero (but "0" itself): what `ipcs` prints.
    private static func decimal(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 19, text == "0" || !text.hasPrefix("0"),
            text.utf8.allSatisfy({ UInt8(ascii: "0")...UInt8(ascii: "9") ~= $0 })
        else { return nil }
        return UInt64(text)
    }
}
