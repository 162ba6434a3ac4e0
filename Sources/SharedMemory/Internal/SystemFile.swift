#if canImport(Glibc)
import Glibc
#endif

/// Reads the small text files the kernel publishes (`/proc`, `/sys`).
enum SystemFile {
    static func contents(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                SystemCall.value { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
            }
            guard case .success(let read) = count else { return nil }
            if read == 0 { break }
            bytes += chunk[..<read]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
