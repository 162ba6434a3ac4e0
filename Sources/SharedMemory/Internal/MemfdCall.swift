#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import SystemPackage

/// The memfd calls, one wrapper each: `memfd_create`, the seals (`fcntl`), and the label the
/// kernel shows in `/proc/self/fd` (`readlink`).
enum MemfdCall {
    /// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING [| MFD_HUGETLB])`.
    static func create(name: String, hugePages: Bool) -> Result<Int32, Errno> {
        var flags = CSharedMemoryShims_MFD_CLOEXEC | CSharedMemoryShims_MFD_ALLOW_SEALING
        if hugePages { flags |= CSharedMemoryShims_MFD_HUGETLB }
        return SystemCall.value { CSharedMemoryShims_memfd_create(name, flags) }
    }

    /// Whether this kernel has `memfd_create` (a probe that makes and closes one).
    static let exists: Bool = {
        let descriptor = CSharedMemoryShims_memfd_create("probe", CSharedMemoryShims_MFD_CLOEXEC)
        guard descriptor >= 0 else { return false }
        close(descriptor)
        return true
    }()

    /// `fcntl(F_GET_SEALS)`.
    static func seals(_ descriptor: Int32) -> Result<Int32, Errno> {
        SystemCall.value { CSharedMemoryShims_fcntl_int(descriptor, CSharedMemoryShims_F_GET_SEALS, 0) }
    }

    /// `fcntl(F_ADD_SEALS)`.
    static func addSeals(_ descriptor: Int32, _ seals: Int32) -> Result<Void, Errno> {
        SystemCall.value { CSharedMemoryShims_fcntl_int(descriptor, CSharedMemoryShims_F_ADD_SEALS, seals) }.map { _ in () }
    }

    /// The target of `/proc/self/fd/N` (`readlink`): `/memfd:NAME (deleted)` for a memfd;
    /// empty if it cannot be read.
    static func linkTarget(_ descriptor: Int32) -> String {
        // "/memfd:" + at most 249 bytes + " (deleted)" fits on the stack.
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 320) { buffer in
            let count = readlink("/proc/self/fd/\(descriptor)", buffer.baseAddress!, buffer.count)
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: max(count, 0)), as: UTF8.self)
        }
    }

    static let sealSeal = CSharedMemoryShims_F_SEAL_SEAL
    static let sealShrink = CSharedMemoryShims_F_SEAL_SHRINK
    static let sealGrow = CSharedMemoryShims_F_SEAL_GROW
    static let sealWrite = CSharedMemoryShims_F_SEAL_WRITE
}
