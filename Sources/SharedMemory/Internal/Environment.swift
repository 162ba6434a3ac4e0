#if canImport(Glibc)
import Glibc
#endif

/// What the process was started with: environment variables (`getenv`) and whether paths
/// can be used (`access`).
enum Environment {
    /// The variable's value; `nil` if it is unset.
    static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Whether this process may read (or, with `writable`, write) `path` (`access`).
    static func mayUse(_ path: String, writable: Bool = false) -> Bool {
        access(path, writable ? W_OK : R_OK) == 0
    }
}
