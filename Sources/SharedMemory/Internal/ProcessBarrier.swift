import CSharedMemoryShims

/// The expensive half of an asymmetric memory barrier between processes: `membarrier(2)`.
///
/// A process registered with `MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED` may leave out the full
/// fence on its fast path, because another process that needs the ordering issues
/// `MEMBARRIER_CMD_GLOBAL_EXPEDITED`, which makes every CPU running a registered process execute
/// a full memory barrier before the call returns (a CPU not running one passes a barrier when it
/// switches to it). The ring's sleep protocol uses it so that only a side about to sleep pays.
@usableFromInline
enum ProcessBarrier {
    /// Whether this process is registered, so that its fast paths may skip their fences: asked
    /// of the kernel once per process (registration is not inherited across `fork` or `exec`).
    static let registered: Bool = {
        if case .success = SystemCall.value({ CSharedMemoryShims_membarrier_register_global_expedited() }) {
            return true
        }
        return false
    }()

    /// The fast side's half in a registered process: only the compiler must keep its store
    /// before its load (no instruction; the other CPU's membarrier supplies the hardware barrier).
    @inlinable
    static func compilerOnly() { CSharedMemoryShims_compiler_barrier() }

    /// `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`; `false` if the kernel refuses, when the
    /// caller must fall back to ordering that does not depend on it.
    static func onEveryRegisteredCPU() -> Bool {
        if case .success = SystemCall.value({ CSharedMemoryShims_membarrier_global_expedited() }) { return true }
        return false
    }
}
