// swift-tools-version: 6.0
// The Hummingbird 2 baseline of scripts/bench-io.sh (issue 11): a hello world on
// one event-loop thread. A package of its own on purpose: Hummingbird takes
// minutes to compile, and the main package must never depend on it.
import PackageDescription

let package = Package(
    name: "HummingbirdPeer",
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.70.0"),
    ],
    targets: [
        .executableTarget(
            name: "hummingbird-hello",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/HummingbirdHello"
        )
    ]
)
