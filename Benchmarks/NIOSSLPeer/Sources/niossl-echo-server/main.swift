// The baseline for the TLS benchmarks: a SwiftNIO echo server with NIOSSL on
// one event-loop thread, writing back whatever it decrypts (no line framing:
// the cheapest a NIO echo can be).
//
//   niossl-echo-server --port 8443 --cert cert.pem --key key.pem [--host 127.0.0.1]
import Glibc
import NIOCore
import NIOPosix
import NIOSSL

final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

guard let certPath = option("--cert"), let keyPath = option("--key") else {
    fputs("usage: niossl-echo-server --port N --cert cert.pem --key key.pem [--host 127.0.0.1]\n", stderr)
    exit(64)
}
let host = option("--host") ?? "127.0.0.1"
let port = Int(option("--port") ?? "8443") ?? 8443

let chain = try NIOSSLCertificate.fromPEMFile(certPath)
let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
let sslContext = try NIOSSLContext(configuration: tls)

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
defer { try? group.syncShutdownGracefully() }
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 1024)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
            try channel.pipeline.syncOperations.addHandler(EchoHandler())
        }
    }
let channel = try bootstrap.bind(host: host, port: port).wait()
print("niossl-echo-server listening on \(channel.localAddress.map { "\($0)" } ?? "?")")
fflush(stdout)
try channel.closeFuture.wait()
