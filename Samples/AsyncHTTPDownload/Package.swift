// swift-tools-version: 6.0
// The talk's "100 web requests in parallel with Pool(20)", done with AsyncHTTPClient from
// green code. A package of its own so that the main package never compiles AsyncHTTPClient
// (minutes of build): scripts/sample-async-http.sh builds and runs it.
import PackageDescription

let package = Package(
    name: "AsyncHTTPDownload",
    dependencies: [
        .package(name: "Green", path: "../.."),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
    ],
    targets: [
        .executableTarget(
            name: "AsyncHTTPDownload",
            dependencies: [
                .product(name: "Green", package: "Green"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/AsyncHTTPDownload"
        ),
    ],
    swiftLanguageModes: [.v5]
)
