// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "SharedMemory",
    products: [
        .library(name: "SharedMemory", targets: ["SharedMemory"]),
        .executable(name: "shm", targets: ["shm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation`: the API reference from the DocC catalog.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CSharedMemoryShims"),
        .target(
            name: "SharedMemory",
            dependencies: [
                "CSharedMemoryShims",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            // Spin models beside the code they describe, checked by .ci/check-models.
            exclude: [
                "Locks/ProcessMutex.pml", "Channel/SPSCRing.pml", "PublishSubscribe/PublishSubscribe.pml", "PublishSubscribe/ChunkPool.pml", "Events/Events.pml", "Heap/HeapNames.pml", "RequestResponse/RequestResponse.pml",
                "Waiting/WaitSet.pml", "Concurrency/AsyncWaiter.pml",
            ]
        ),
        // The same measured operations in plain C: the "limit" side of every ratio.
        .target(name: "CReference"),
        // Starting another program (posix_spawn) with the pipes it needs: one copy for the
        // tests, the comparison and the CLI. Not part of the library.
        .target(name: "ProcessSpawning", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "SharedMemoryComparison",
            dependencies: [
                "SharedMemory", "CReference", "ProcessSpawning",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .executableTarget(
            name: "shm",
            dependencies: [
                "SharedMemory", "SharedMemoryComparison", "ProcessSpawning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // One seeded generator for the fuzzing tests and the peer that writes their garbage.
        .target(name: "SeededRandom", path: "Tests/Fixtures/SeededRandom"),
        .executableTarget(name: "SharedMemoryTestPeer", dependencies: ["SharedMemory", "SeededRandom"]),
        // Plain C with the bare calls (shmget, shm_open, open, semget): the other side of
        // the interop tests, built by SwiftPM so no C compiler has to be found at test time.
        .executableTarget(name: "InteropFixture", path: "Tests/Fixtures/InteropFixture"),
        // Counts the heap allocations of the ring's fast path (for the tests). Not a dependency
        // of the test target, which would link its malloc into the test binary; `swift test`
        // builds every executable anyway.
        .target(name: "CAllocationCounter", path: "Tests/Fixtures/CAllocationCounter"),
        .executableTarget(
            name: "AllocationProbe", dependencies: ["SharedMemory", "CAllocationCounter"],
            path: "Tests/Fixtures/AllocationProbe"),
        .testTarget(
            name: "SharedMemoryTests",
            // The executables are dependencies so that `swift test` builds them: the tests
            // launch them as the second process.
            dependencies: [
                "SharedMemory", "SharedMemoryComparison", "ProcessSpawning", "SharedMemoryTestPeer", "shm", "InteropFixture",
                "SeededRandom",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
