// The baseline for the echo benchmark: a SwiftNIO echo server on one event-loop
// thread, writing back whatever it reads (no line framing: the cheapest a NIO
// echo can be).
import ArgumentParser
import Glibc
import NIOCore
import NIOPosix

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

@main
struct NIOEchoServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nio-echo-server", abstract: "A one-thread SwiftNIO echo server (benchmark baseline).")

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8000

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.addHandler(EchoHandler())
            }
        let channel = try bootstrap.bind(host: host, port: port).wait()
        print("nio-echo-server listening on \(channel.localAddress.map { "\($0)" } ?? "?")")
        fflush(stdout)
        try channel.closeFuture.wait()
    }
}
