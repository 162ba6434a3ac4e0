#if canImport(Glibc)
import Glibc
#endif

extension timespec {
    /// A duration as the kernel takes it; negative durations become zero.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 && attoseconds >= 0 else {
            self.init(tv_sec: 0, tv_nsec: 0)
            return
        }
        self.init(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    }
}
