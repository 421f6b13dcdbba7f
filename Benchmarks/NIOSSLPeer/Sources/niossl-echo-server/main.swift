// The baseline for the TLS benchmarks: a SwiftNIO echo server with NIOSSL on
// one event-loop thread, writing back whatever it decrypts (no line framing:
// the cheapest a NIO echo can be).
//
//   niossl-echo-server --port 8443 --cert cert.pem --key key.pem [--host 127.0.0.1] [--tickets N]
//
// --tickets N: TLS 1.3 session tickets sent per connection (BoringSSL's
// default is 2; GreenTLS sends 1, and scripts/bench-tls.sh passes --tickets 1
// so both servers do the same work per handshake).
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

/// BoringSSL's SSL_CTX_set_num_tickets, linked into this binary with NIOSSL
/// (CNIOBoringSSL is not a product another package may import).
@_silgen_name("CNIOBoringSSL_SSL_CTX_set_num_tickets")
func boringSSLSetNumTickets(_ context: OpaquePointer, _ count: Int) -> Int32

/// Sets the TLS 1.3 tickets per connection on a context NIOSSL keeps private
/// (read through reflection: a benchmark knob, not an API).
func setNumTickets(_ context: NIOSSLContext, _ count: Int) {
    guard let ctx = Mirror(reflecting: context).children.first(where: { $0.label == "sslContext" })?.value as? OpaquePointer,
          boringSSLSetNumTickets(ctx, count) == 1
    else {
        fputs("niossl-echo-server: cannot set the ticket count\n", stderr)
        exit(70)
    }
}

func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

guard let certPath = option("--cert"), let keyPath = option("--key") else {
    fputs("usage: niossl-echo-server --port N --cert cert.pem --key key.pem [--host 127.0.0.1] [--tickets N]\n", stderr)
    exit(64)
}
let host = option("--host") ?? "127.0.0.1"
let port = Int(option("--port") ?? "8443") ?? 8443

let chain = try NIOSSLCertificate.fromPEMFile(certPath)
let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
let sslContext = try NIOSSLContext(configuration: tls)
if let tickets = option("--tickets").flatMap(Int.init) {
    setNumTickets(sslContext, tickets)
}

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
