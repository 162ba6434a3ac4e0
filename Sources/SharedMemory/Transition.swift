import SystemPackage

// The names before 0.1.0, kept only while work in flight moves to the new ones; removed
// before the release.

@available(*, deprecated, renamed: "SharedRegions")
public typealias SharedMemory = SharedRegions

extension SharedRegions {
    @available(*, deprecated, renamed: "openInitialized(_:layout:permissions:options:timeout:initializer:)")
    public static func openOrCreate(
        _ address: RegionAddress, layout: RegionLayout, permissions: FilePermissions = .ownerReadWrite,
        options: SharedRegionOptions = .default, timeout: Duration = .seconds(10),
        initializer: (InitializedRegion) throws -> Void
    ) throws -> InitializedRegion {
        try openInitialized(
            address, layout: layout, permissions: permissions, options: options, timeout: timeout, initializer: initializer)
    }
}
