import Glibc
import Green

/// A connected pair of loopback TCP sockets: (client, server side).
func loopbackPair(_ family: SocketAddress.Family = .ipv4) throws -> (Socket, Socket) {
    let listener = try Socket.listening(on: try .loopback(family, port: 0))
    defer { listener.close() }
    let client = try Socket.connect(to: try listener.localAddress(), timeout: .seconds(10))
    let (server, _) = try listener.accept(timeout: .seconds(10))
    return (client, server)
}

/// A port nobody listens on (bound, read back, closed).
func closedPort() throws -> Int {
    let s = try Socket(family: .ipv4)
    try s.bind(to: try .loopback(port: 0))
    let port = try s.localAddress().port
    s.close()
    return port
}

/// A line-echo server on an ephemeral loopback port, started.
func startEchoServer(maxConnections: Int? = nil, onConnection: (() -> Void)? = nil) throws -> StreamServer {
    let server = StreamServer(host: "127.0.0.1", port: 0, maxConnections: maxConnections) { socket, _ in
        onConnection?()
        let reader = BufferedReader(socket)
        for line in reader.byteLines { try socket.sendAll(line) }
    }
    try server.start()
    return server
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
