// swift-tools-version: 6.0
// Green: green threads and actors for Swift on Linux.
import PackageDescription

let package = Package(
    name: "Green",
    products: [
        .library(name: "Green", targets: ["Green"]),
        .library(name: "GreenActors", targets: ["GreenActors"]),
        .library(name: "GreenTLS", targets: ["GreenTLS"]),
        .executable(name: "GreenDemo", targets: ["GreenDemo"]),
        .executable(name: "PingPong", targets: ["PingPong"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Only for the nio-echo-server baseline in Benchmarks/; never a dependency of the library.
        .package(url: "https://github.com/apple/swift-nio", from: "2.70.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        // C and assembly: the context switch, stacks, the overflow handler.
        .target(name: "CGreenContext", path: "Sources/CGreenContext"),
        // libev, from Debian's libev-dev, with static inline shims over its macros.
        .systemLibrary(name: "CLibev", path: "Sources/CLibev", providers: [.apt(["libev-dev"])]),
        // The core: greenlets, the hub, timeouts, coordination, green I/O.
        .target(
            name: "Green",
            dependencies: [
                "CGreenContext", "CLibev",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            path: "Sources/Green"
        ),
        // Actors on greenlets: mailboxes, links, monitors, supervisors, registry.
        .target(
            name: "GreenActors",
            dependencies: [
                "Green",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Sources/GreenActors"
        ),
        .executableTarget(
            name: "PingPong",
            dependencies: ["Green", "GreenActors", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Samples/PingPong"
        ),
        // green-bench: mailbox throughput, Green beside Swift concurrency in one run.
        .executableTarget(
            name: "green-bench",
            dependencies: [
                "Green", "GreenActors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/GreenBench"
        ),
        .executableTarget(
            name: "GreenDemo",
            dependencies: ["Green"],
            path: "Samples/GreenDemo"
        ),
        // The chat room of Samples/ChatRoom, as a library the tests can start in-process.
        .target(
            name: "GreenChat",
            dependencies: ["Green", .product(name: "Logging", package: "swift-log")],
            path: "Sources/GreenChat"
        ),
        .executableTarget(
            name: "Echo",
            dependencies: ["Green", "GreenTLS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Samples/Echo"
        ),
        .executableTarget(
            name: "ChatRoom",
            dependencies: ["Green", "GreenChat", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Samples/ChatRoom"
        ),
        // I/O benchmarks: a one-thread SwiftNIO echo baseline and our load generator.
        .executableTarget(
            name: "nio-echo-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/NIOEchoServer"
        ),
        .executableTarget(
            name: "green-load",
            dependencies: ["Green", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/GreenLoad"
        ),
        // A helper program the tests run as a child process (crashes, signals).
        .executableTarget(
            name: "GreenTestChild",
            dependencies: ["Green"],
            path: "Tests/GreenTestChild"
        ),
        // The fuzz target over BufferedReader and the chat room's text handling:
        // libFuzzer's with scripts/fuzz.sh (-DFUZZING), a corpus replayer otherwise.
        .executableTarget(
            name: "GreenFuzz",
            dependencies: ["Green", "GreenChat"],
            path: "Tests/Fuzz/GreenFuzz"
        ),
        // Child processes for the tests, on posix_spawn (Foundation's Process
        // crashes on Swift 6.3.1 when thousands of descriptors are open).
        // Only test targets depend on it.
        .target(name: "GreenTestSupport", path: "Tests/GreenTestSupport"),
        .testTarget(
            name: "GreenTestSupportTests",
            dependencies: ["GreenTestSupport"],
            path: "Tests/GreenTestSupportTests"
        ),
        .testTarget(
            name: "GreenTests",
            dependencies: ["Green", "GreenTestChild", "GreenChat", "Echo", "ChatRoom", "GreenFuzz", "GreenTestSupport"],
            path: "Tests/GreenTests"
        ),
        .testTarget(
            name: "GreenBenchTests",
            dependencies: ["green-bench", "GreenTestSupport"],
            path: "Tests/GreenBenchTests"
        ),
        .testTarget(
            name: "GreenActorsTests",
            dependencies: ["GreenActors", "Green"],
            path: "Tests/GreenActorsTests"
        ),
        // TLS on green sockets (issue 16): OpenSSL 3 from Debian's libssl-dev,
        // GreenTLS over Green's ByteStream, its tests (real openssl and curl
        // peers), and the TLS load generator of scripts/bench-tls.sh.
        .systemLibrary(name: "CGreenOpenSSL", path: "Sources/CGreenOpenSSL", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "GreenTLS",
            dependencies: ["Green", "CGreenOpenSSL", .product(name: "Logging", package: "swift-log")],
            path: "Sources/GreenTLS"
        ),
        .testTarget(
            name: "GreenTLSTests",
            dependencies: ["GreenTLS", "Green", "Echo", "GreenHTTP", "HelloHTTP", "GreenTestSupport"],
            path: "Tests/GreenTLSTests"
        ),
        .executableTarget(
            name: "green-tls-load",
            dependencies: ["Green", "GreenTLS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/GreenTLSLoad"
        ),
    ],
    swiftLanguageModes: [.v5]
)

// MARK: GreenHTTP (issue 11): the seeds' WSGI-style server, a green client, the web chat.
package.dependencies += [
    .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
]
package.products += [
    .library(name: "GreenHTTP", targets: ["GreenHTTP"]),
]
package.targets += [
    // Node's http_parser, from Debian's libhttp-parser-dev (scripts/ensure-http-parser.sh).
    .systemLibrary(name: "CHTTPParser", path: "Sources/CHTTPParser", providers: [.apt(["libhttp-parser-dev"])]),
    .target(
        name: "GreenHTTP",
        dependencies: [
            "Green", "GreenTLS", "CHTTPParser",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ],
        path: "Sources/GreenHTTP"
    ),
    // The seeds' Flask chat room as a library (the WebChat sample and its tests).
    .target(
        name: "GreenWebChat",
        dependencies: ["Green", "GreenHTTP", .product(name: "Logging", package: "swift-log")],
        path: "Sources/GreenWebChat"
    ),
    .executableTarget(
        name: "HelloHTTP",
        dependencies: ["Green", "GreenHTTP", "GreenTLS", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Samples/HelloHTTP"
    ),
    .executableTarget(
        name: "WebChat",
        dependencies: ["Green", "GreenHTTP", "GreenWebChat", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Samples/WebChat"
    ),
    .executableTarget(
        name: "Download",
        dependencies: ["Green", "GreenHTTP", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Samples/Download"
    ),
    .testTarget(
        name: "GreenHTTPTests",
        dependencies: [
            "Green", "GreenHTTP", "GreenWebChat", "HelloHTTP", "Download", "WebChat", "GreenTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ],
        path: "Tests/GreenHTTPTests"
    ),
]

// MARK: GreenAMQP (issue 13): AMQP 0-9-1 over green sockets, remote queues and remote actors through RabbitMQ.
package.products += [
    .library(name: "GreenAMQP", targets: ["GreenAMQP"]),
]
package.targets += [
    .target(
        name: "GreenAMQP",
        dependencies: [
            "Green",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "DequeModule", package: "swift-collections"),
        ],
        path: "Sources/GreenAMQP"
    ),
    .testTarget(
        name: "GreenAMQPTests",
        dependencies: ["GreenAMQP", "Green", "GreenActors", "GreenRemote", "RemotePingPong", "RemoteChatRoom", "GreenTestSupport"],
        path: "Tests/GreenAMQPTests"
    ),
]
package.products += [
    .library(name: "GreenRemote", targets: ["GreenRemote"]),
]
package.targets += [
    // Remote actors: nodes joined by one broker, RemoteActorRef, monitors across nodes.
    .target(
        name: "GreenRemote",
        dependencies: ["Green", "GreenActors", "GreenAMQP", .product(name: "Logging", package: "swift-log")],
        path: "Sources/GreenRemote"
    ),
    .executableTarget(
        name: "RemotePingPong",
        dependencies: ["Green", "GreenActors", "GreenRemote", "GreenAMQP",
                       .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Samples/RemotePingPong"
    ),
]
package.targets += [
    // The chat room spread over processes joined by a broker.
    .target(
        name: "GreenChatLink",
        dependencies: ["Green", "GreenAMQP", "GreenChat", "GreenRemote", .product(name: "Logging", package: "swift-log")],
        path: "Sources/GreenChatLink"
    ),
    .executableTarget(
        name: "RemoteChatRoom",
        dependencies: ["Green", "GreenChat", "GreenChatLink", "GreenRemote",
                       .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Samples/RemoteChatRoom"
    ),
    // scripts/bench-amqp.sh: publish throughput with confirms, beside pika's.
    .executableTarget(
        name: "green-amqp-publish",
        dependencies: ["Green", "GreenAMQP"],
        path: "Benchmarks/AMQPPublish"
    ),
    // scripts/bench-amqp.sh: the raw round trip under RemotePingPong (the broker's floor).
    .executableTarget(
        name: "green-amqp-roundtrip",
        dependencies: ["Green", "GreenAMQP"],
        path: "Benchmarks/AMQPRoundTrip"
    ),
]
