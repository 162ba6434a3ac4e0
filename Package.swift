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
    ],
    targets: [
        .target(name: "CSharedMemoryShims"),
        .target(
            name: "SharedMemory",
            dependencies: [
                "CSharedMemoryShims",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .executableTarget(
            name: "shm",
            dependencies: [
                "SharedMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "SharedMemoryTestPeer", dependencies: ["SharedMemory"]),
        .testTarget(
            name: "SharedMemoryTests",
            // The executables are dependencies so that `swift test` builds them: the tests
            // launch them as the second process.
            dependencies: ["SharedMemory", "SharedMemoryTestPeer", "shm"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
