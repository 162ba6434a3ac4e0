#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import SystemPackage

extension DescriptorNamespace {
    /// Creates the object with its mode, size and backing store in place before its name
    /// appears, so nobody ever finds it half-made, even if this process is killed half-way:
    /// an unnamed file is made in the directory (`open(O_TMPFILE)`), sized and mapped, then
    /// linked in under the name (`linkat` of `/proc/self/fd/N`, which fails with `EEXIST`
    /// like `O_EXCL`). A creator killed before the link leaves nothing at all.
    ///
    /// Where the filesystem cannot make unnamed files, falls back to `O_CREAT | O_EXCL` and
    /// sizing afterwards: openers then wait for the size (`SharedRegionOptions.sizeWait`).
    func createFullyMade(
        byteCount: Int, permissions: FilePermissions, access: SharedRegionAccess, options: SharedRegionOptions
    ) throws(SharedMemoryError) -> MappedDescriptor {
        let unnamed = SystemCall.value {
            open(directory, CSharedMemoryShims_O_TMPFILE | O_RDWR | O_CLOEXEC, permissions.rawValue)
        }
        switch unnamed {
        case .success(let descriptor):
            let handle = try MappedDescriptor.sizingNewObject(
                descriptor, byteCount: byteCount, permissions: permissions, access: access, options: options,
                address: address)
            // On failure `handle` unmaps and closes: the unnamed file vanishes with it.
            _ = try SystemCall.value {
                linkat(AT_FDCWD, "/proc/self/fd/\(handle.descriptor)", AT_FDCWD, filesystemPath, AT_SYMLINK_FOLLOW)
            }.get("linkat", address)
            return handle
        case .failure(let error) where error == .notSupported || error == .isDirectory:
            // EOPNOTSUPP: this filesystem has no O_TMPFILE; EISDIR: nor has this kernel.
            return try createNamedThenSized(byteCount: byteCount, permissions: permissions, access: access, options: options)
        case .failure(let error):
            throw SharedMemoryError(operation: "open(O_TMPFILE)", address: address, errno: error)
        }
    }

    /// `O_CREAT | O_EXCL`, then sizing; a failure removes the name it made.
    private func createNamedThenSized(
        byteCount: Int, permissions: FilePermissions, access: SharedRegionAccess, options: SharedRegionOptions
    ) throws(SharedMemoryError) -> MappedDescriptor {
        let descriptor = try createExclusively(permissions: permissions).get(openCall, address)
        do throws(SharedMemoryError) {
            return try MappedDescriptor.sizingNewObject(
                descriptor, byteCount: byteCount, permissions: permissions, access: access, options: options,
                address: address)
        } catch {
            try? remove()
            throw error
        }
    }
}
