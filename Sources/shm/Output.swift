#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Writes to stdout and stderr without buffering surprises.
enum Output {
    /// Standard output's reader has gone (`EPIPE`; `shm` ignores `SIGPIPE`): a command that
    /// streams stops quietly, as it would at the end of its output.
    struct ReaderGone: Error {}

    static func line(_ text: String) {
        bytes(Array((text + "\n").utf8))
    }

    static func bytes(_ bytes: [UInt8]) {
        _ = try? FileDescriptor.standardOutput.writeAll(bytes)
    }

    /// Writes all of `bytes` to stdout (`write(2)` until done).
    ///
    /// - Throws: `ReaderGone` on `EPIPE`; the `Errno` of any other failure.
    static func stream(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            _ = try FileDescriptor.standardOutput.writeAll(bytes)
        } catch Errno.brokenPipe {
            throw ReaderGone()
        }
    }

    static func error(_ text: String) {
        _ = try? FileDescriptor.standardError.writeAll((text + "\n").utf8)
    }
}

enum Hex {
    /// Lowercase digits, no spaces: two bytes of `digits` for each byte of `bytes`, which
    /// `digits` must have room for.
    static func encode(_ bytes: UnsafeRawBufferPointer, into digits: UnsafeMutableRawBufferPointer) {
        let alphabet: StaticString = "0123456789abcdef"
        alphabet.withUTF8Buffer { alphabet in
            for (index, byte) in bytes.enumerated() {
                digits[2 * index] = alphabet[Int(byte >> 4)]
                digits[2 * index + 1] = alphabet[Int(byte & 0xF)]
            }
        }
    }

    /// Accepts upper or lower case and ignores whitespace; nil on anything else.
    static func bytes(_ text: String) -> [UInt8]? {
        let digits = text.utf8.filter { !($0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D) }
        guard digits.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
