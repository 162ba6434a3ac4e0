#if canImport(Glibc)
import Glibc
#endif

/// The system page size, read once: every mapping is a whole number of pages.
enum PageSize {
    static let bytes = Int(sysconf(Int32(_SC_PAGESIZE)))

    static func roundUp(_ count: Int) -> Int {
        (count + bytes - 1) / bytes * bytes
    }
}
