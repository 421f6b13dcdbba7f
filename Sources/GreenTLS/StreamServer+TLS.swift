import Green
import Logging

/// gevent's `StreamServer(..., certfile=, keyfile=)`: a `StreamServer` whose
/// handlers get a `TLSStream`.
///
/// ```swift
/// let tls = try TLSConfiguration.server(certificateChain: .file("cert.pem"), privateKey: .file("key.pem"))
/// let server = StreamServer(port: 8443, tls: tls) { stream, peer in
///     for line in BufferedReader(stream).byteLines { try stream.sendAll(line) }
/// }
/// try server.serveForever()
/// ```
///
/// Accepted sockets get `TCP_NODELAY`. Each connection's greenlet makes the handshake (within `handshakeTimeout`)
/// before the handler runs, so a client that stalls mid-handshake holds its
/// own greenlet only, and is dropped when the time is up. A failed handshake
/// (a client that refuses our certificate, speaks plain HTTP, or times out)
/// is logged at debug level and ends that connection. After the handler
/// returns, the stream sends `close_notify` (if the socket takes it at once)
/// and closes. TLS errors a handler lets escape (`truncated`...) are logged
/// at debug level: they are the peer's doing, not the server's.
///
/// `maxConnections` counts connections still in their handshake.
extension StreamServer {
    /// What runs for each TLS connection, after its handshake, in a greenlet of its own.
    public typealias TLSHandler = (_ stream: TLSStream, _ peer: SocketAddress) throws -> Void

    static let tlsLogger = Logger(label: "green.tls")

    /// A TLS server for `host` and `port` (as `init(host:port:...)`);
    /// `tls` must be a server configuration.
    /// - Note: never switches; nothing is bound until `start()`.
    public convenience init(
        host: String = "", port: Int, tls: TLSConfiguration, handshakeTimeout: Duration = .seconds(10),
        backlog: Int32 = 1024, maxConnections: Int? = nil, handler: @escaping TLSHandler
    ) {
        self.init(
            host: host, port: port, backlog: backlog, maxConnections: maxConnections,
            handler: StreamServer.tlsHandler(tls, handshakeTimeout, handler))
    }

    /// A TLS server on `address`; `tls` must be a server configuration.
    /// - Note: never switches; nothing is bound until `start()`.
    public convenience init(
        address: SocketAddress, tls: TLSConfiguration, handshakeTimeout: Duration = .seconds(10),
        backlog: Int32 = 1024, maxConnections: Int? = nil, handler: @escaping TLSHandler
    ) {
        self.init(
            address: address, backlog: backlog, maxConnections: maxConnections,
            handler: StreamServer.tlsHandler(tls, handshakeTimeout, handler))
    }

    /// A TLS server on a socket already listening; `tls` must be a server configuration.
    /// - Note: never switches.
    public convenience init(
        listening socket: Socket, tls: TLSConfiguration, handshakeTimeout: Duration = .seconds(10),
        maxConnections: Int? = nil, handler: @escaping TLSHandler
    ) {
        self.init(
            listening: socket, maxConnections: maxConnections,
            handler: StreamServer.tlsHandler(tls, handshakeTimeout, handler))
    }

    /// Wraps a TLS handler into a plain one: handshake, handler, close.
    static func tlsHandler(_ tls: TLSConfiguration, _ handshakeTimeout: Duration, _ handler: @escaping TLSHandler) -> Handler {
        precondition(tls.role == .server, "StreamServer(tls:) needs a server TLSConfiguration")
        return { socket, peer in
            // TLS sends whole records, coalesced by the stream: Nagle's algorithm
            // would only hold a record back behind an unacknowledged one (a
            // session ticket flushed before a read, then the first answer) until
            // the peer's delayed ACK, milliseconds later.
            try? socket.setNoDelay()
            let stream = try TLSStream(server: socket, configuration: tls)
            defer { stream.close() }
            do {
                try stream.handshake(timeout: handshakeTimeout)
            } catch let e as TLSError {
                tlsLogger.debug("TLS handshake with \(peer) failed: \(e)")
                return
            }
            do {
                try handler(stream, peer)
            } catch let e as TLSError {
                tlsLogger.debug("TLS connection from \(peer) ended: \(e)")
            }
        }
    }
}
