#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// The one place that calls the C library and reads `errno`.
///
/// Every syscall of the library goes through these helpers: they retry `EINTR` (a signal
/// handler must not turn into a spurious failure) and capture `errno` right after the
/// call, before anything else can overwrite it.
enum SystemCall {
    /// Calls `body` until it does not fail with `EINTR`; `-1` means failure.
    @inline(__always)
    static func value<I: FixedWidthInteger>(
        retryingInterrupts: Bool = true, _ body: () -> I
    ) -> Result<I, Errno> {
        while true {
            let result = body()
            if result != -1 { return .success(result) }
            let error = Errno(rawValue: errno)
            if retryingInterrupts && error == .interrupted { continue }
            return .failure(error)
        }
    }

    /// Calls `body`, a function that fails with `(void *)-1` (`mmap`, `shmat`, `mremap`).
    @inline(__always)
    static func pointer(_ body: () -> UnsafeMutableRawPointer?) -> Result<UnsafeMutableRawPointer, Errno> {
        while true {
            let result = body()
            if let result, result != UnsafeMutableRawPointer(bitPattern: -1) { return .success(result) }
            let error = Errno(rawValue: errno)
            if error == .interrupted { continue }
            return .failure(error)
        }
    }
}

extension Result where Failure == Errno {
    /// The value, or a `SharedMemoryError` that names the C call and the address.
    @inline(__always)
    func get(_ operation: StaticString, _ address: RegionAddress?) throws(SharedMemoryError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let error): throw SharedMemoryError(operation: "\(operation)", address: address, errno: error)
        }
    }
}
