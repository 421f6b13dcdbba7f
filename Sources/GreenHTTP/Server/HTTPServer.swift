import Glibc
import Green
import GreenTLS
import HTTPTypes
import Logging

/// An HTTP/1.1 and HTTP/1.0 server: a greenlet per connection runs a plain
/// synchronous handler, as the seeds' `WSGIServer(('', 8000), application)`.
///
/// ```swift
/// let server = HTTPServer(port: 8000) { request in
///     Response(headerFields: [.contentType: "text/html"], body: "Hello Cruel World!")
/// }
/// try server.serveForever()
/// ```
///
/// Keep-alive, pipelining, chunked bodies both ways, streamed responses,
/// `Expect: 100-continue` and HEAD are handled; see `ServerConnection` for
/// the steps of a request and `Configuration` for every limit and the status
/// that answers it. `stop(timeout:)` is graceful.
///
/// Over TLS (`https://`), as the seeds' `WSGIServer(..., certfile=, keyfile=)`:
///
/// ```swift
/// let tls = try TLSConfiguration.httpServer(certificateChain: .file("cert.pem"), privateKey: .file("key.pem"))
/// let server = HTTPServer(port: 8443, tls: tls) { _ in Response(body: "Hello Cruel World!") }
/// ```
///
/// Each connection's own greenlet makes its handshake within
/// `handshakeTimeout`, so a client that stalls mid-handshake holds nobody
/// else; a failed handshake closes that connection (logged at debug level).
///
/// A server runs on the hub of the thread that calls `start()`; its handler
/// runs there, so state shared by handlers needs no lock. With several hubs,
/// start one server per hub on the same port with `reusePort` (the kernel
/// spreads connections between their listening sockets).
public final class HTTPServer {
    /// Runs for each request; throw `HTTPError` to answer with a status.
    /// Runs on the connection's greenlet and may switch.
    public typealias Handler = (Request) throws -> Response

    /// Limits and timeouts. Each limit is answered with its status and the
    /// connection closed; none of them affects other connections.
    public struct Configuration: Sendable {
        /// Most bytes of request line and headers: 431.
        public var maxHeadBytes = 16 * 1024
        /// Most header fields: 431.
        public var maxHeaderCount = 100
        /// Most bytes of request body (by `Content-Length` at once, or as chunks arrive): 413.
        public var maxBodyBytes = 1 << 20
        /// Most connections served at once; one more is answered 503 and closed. nil: no limit.
        public var maxConnections: Int? = 10_000
        /// From the first byte of a request to the end of its head (slowloris): 408.
        /// Also how long a new connection may stay silent.
        public var headerTimeout: Duration = .seconds(10)
        /// How long a kept-alive connection may wait for its next request; then it closes quietly.
        public var keepAliveTimeout: Duration = .seconds(30)
        /// How long one read of the request body may wait: 408.
        public var bodyTimeout: Duration = .seconds(30)
        /// How long sending a response may wait for the client to read.
        public var writeTimeout: Duration = .seconds(30)
        /// TLS only: how long a new connection may take over its handshake; then
        /// it is closed (nothing can be answered before the handshake).
        public var handshakeTimeout: Duration = .seconds(10)
        /// After a refused request, how long the server reads and drops what the client still sends.
        public var lingerTimeout: Duration = .seconds(2)
        /// `stop()`'s default: how long requests in flight may take to finish.
        public var stopTimeout: Duration = .seconds(5)
        /// Where each request is logged (at info level); nil for none.
        public var accessLog: Logger? = Logger(label: "green.http.access")
        /// `SO_REUSEPORT` on the listening socket: several servers (one per hub or
        /// process) may listen on one port.
        public var reusePort = false
        /// The listen backlog.
        public var backlog: Int32 = 1024

        /// The defaults above.
        public init() {}
    }

    static let logger = Logger(label: "green.http")

    /// The limits and timeouts this server applies.
    public let configuration: Configuration
    /// The TLS configuration each connection is served with (`https://`), or nil (`http://`).
    public let tls: TLSConfiguration?
    let handler: Handler
    let accessLog: Logger?
    let dates = DateCache()
    private let host: String
    private let requestedPort: Int
    private var server: StreamServer?
    private var connections: [ObjectIdentifier: ServerConnection] = [:]
    /// Whether `stop` has begun.
    public private(set) var isStopping = false

    /// A server for `host` ("" for every IPv4 interface, "::" for every
    /// interface) and `port` (0: any free port, read back from `port`).
    /// Nothing is bound until `start()`.
    /// - Parameters:
    ///   - tls: serve `https://` with this server configuration (see
    ///     `TLSConfiguration.httpServer`); nil for plain `http://`.
    /// - Note: never switches. Any thread; the server then belongs to the hub that starts it.
    public init(
        host: String = "", port: Int, configuration: Configuration = Configuration(), tls: TLSConfiguration? = nil,
        handler: @escaping Handler
    ) {
        self.host = host
        self.requestedPort = port
        self.configuration = configuration
        self.tls = tls
        self.handler = handler
        self.accessLog = configuration.accessLog
    }

    /// A server whose requests go through `router`.
    /// - Note: never switches. Any thread.
    public convenience init(
        host: String = "", port: Int, configuration: Configuration = Configuration(), tls: TLSConfiguration? = nil,
        router: Router
    ) {
        self.init(host: host, port: port, configuration: configuration, tls: tls) { try router.handle($0) }
    }

    /// The port listened on, once started.
    public var port: Int { server?.port ?? 0 }
    /// The address listened on, once started.
    public var address: SocketAddress? { server?.address }
    /// Connections open now.
    public var connectionCount: Int { connections.count }

    /// Binds, listens and starts accepting in a greenlet of its own; returns at once.
    /// - Throws: `SocketError` (`addressInUse`, `resolutionFailed`...);
    ///   `TLSError.invalidConfiguration` for a client TLS configuration or one
    ///   whose ALPN offers a protocol other than HTTP/1.x. A second call does nothing.
    /// - Note: switches only to resolve a host name. Same hub as every other call.
    public func start() throws {
        if server != nil { return }
        if let tls { try HTTPServer.check(tls) }
        let address = try Resolver.resolve(host: host, port: requestedPort, kind: .stream)[0]
        let listener = try HTTPServer.listen(on: address, configuration: configuration)
        let server = StreamServer(listening: listener) { [unowned self] socket, peer in
            try self.serve(socket, peer)
        }
        self.server = server
        isStopping = false
        try server.start()
    }

    static func listen(on address: SocketAddress, configuration: Configuration) throws -> Socket {
        guard configuration.reusePort else { return try Socket.listening(on: address, backlog: configuration.backlog) }
        let s = try Socket(family: address.family)
        do {
            try s.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            try s.setOption(SOL_SOCKET, SO_REUSEPORT, 1)
            if address.family == .ipv6 { try s.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0) }
            try s.bind(to: address)
            try s.listen(backlog: configuration.backlog)
        } catch {
            s.close()
            throw error
        }
        return s
    }

    /// Starts (if needed) and blocks until `stop` has finished.
    /// - Throws: as `start()`; errors injected into the caller.
    /// - Note: switches.
    public func serveForever() throws {
        try start()
        try server?.serveForever()
    }

    /// Stops gracefully: stops accepting, closes connections waiting between
    /// requests, lets requests in flight finish (their responses say
    /// `Connection: close`) for up to `timeout` (default `stopTimeout`), then
    /// kills what is left and closes. Calling it again, or from a handler, is safe.
    /// - Throws: errors injected into the caller while it waits.
    /// - Note: switches.
    public func stop(timeout: Duration? = nil) throws {
        guard let server else { return }
        isStopping = true
        for connection in connections.values { connection.closeIfIdle() }
        try server.stop(timeout: timeout ?? configuration.stopTimeout)
    }

    private func serve(_ socket: Socket, _ peer: SocketAddress) throws {
        try? socket.setNoDelay()
        let tlsStream = try tls.map { try TLSStream(server: socket, configuration: $0) }
        defer { tlsStream?.close() }
        let connection = ServerConnection(server: self, stream: tlsStream ?? socket, peer: peer)
        let key = ObjectIdentifier(connection)
        // Counted from the start (a handshake holds a greenlet and a descriptor too).
        connections[key] = connection
        defer { connections[key] = nil }
        if let tlsStream, try !handshake(tlsStream, peer) { return }
        if let max = configuration.maxConnections, connections.count > max {
            try connection.refuseBusy()
            return
        }
        try connection.serve()
    }
}
