// swift-tools-version: 6.0
// The SwiftNIO + NIOSSL baseline of scripts/bench-tls.sh: a package of its own,
// so the main package never depends on NIOSSL (BoringSSL takes minutes to build).
import PackageDescription

let package = Package(
    name: "NIOSSLPeer",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.70.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        .executableTarget(
            name: "niossl-echo-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/niossl-echo-server"
        ),
    ],
    swiftLanguageModes: [.v5]
)
