import Green
import GreenTLS
import HTTPTypes

/// A green HTTP/1.1 client: calls block the calling greenlet only, as the
/// seeds' `urllib2.urlopen(url).read()` under gevent.
///
/// ```swift
/// let page = try HTTPClient.get("http://127.0.0.1:8000/", timeout: .seconds(5)).text
/// let pages = try Pool(20).map({ try HTTPClient.get($0).body }, urls)
/// ```
///
/// Connections are kept alive and pooled per scheme, host and port (at most
/// `maxConnectionsPerHost` at once; more requests wait for one), redirects
/// are followed up to `maxRedirects`, chunked bodies are read and sent, and
/// every failure is an `HTTPClientError`. A request that fails on a reused
/// connection before any response byte (the server had closed it) is sent
/// again once on a new one when its body can be replayed.
///
/// `https://` verifies the server's chain against the system's CA store and
/// its host name, and sends SNI; `Configuration.tls` trusts a given CA
/// instead (`.httpClient(trust: .certificateAuthorities(.file("ca.pem")))`)
/// or, for tests only, nobody checks anything
/// (`.insecureClientWithoutVerification(alpn: ["http/1.1"])`). TLS failures
/// are `HTTPClientError.tls(TLSError)` naming what failed.
///
/// A client belongs to the hub that uses it (`shared` is one per hub);
/// every method may switch and must be called on that hub.
public final class HTTPClient {
    /// Limits and timeouts.
    public struct Configuration: Sendable {
        /// Most connections open to one host at once.
        public var maxConnectionsPerHost = 8
        /// Most time to open a connection.
        public var connectTimeout: Duration = .seconds(10)
        /// The default time for a whole request: a pooled connection, sending, the whole response.
        public var requestTimeout: Duration = .seconds(30)
        /// How long an idle pooled connection is kept.
        public var idleTimeout: Duration = .seconds(60)
        /// Most redirects followed (301, 302, 303, 307, 308).
        public var maxRedirects = 5
        /// Most bytes of response head.
        public var maxHeadBytes = 64 * 1024
        /// Most bytes of response body.
        public var maxBodyBytes = 64 << 20
        /// The `User-Agent` sent when the request has none.
        public var userAgent = "GreenHTTP"
        /// How `https://` servers are verified (a client `TLSConfiguration`,
        /// best made with `TLSConfiguration.httpClient`); nil: the system's CA
        /// store and the host name, ALPN "http/1.1".
        public var tls: TLSConfiguration? = nil

        /// The defaults above.
        public init() {}
    }

    /// The limits and timeouts of this client.
    public let configuration: Configuration
    private let pool: ConnectionPool

    /// A client with its own pool.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        pool = ConnectionPool(limit: configuration.maxConnectionsPerHost, idleTimeout: configuration.idleTimeout)
    }

    deinit { pool.closeIdle() }

    /// The calling hub's client (default configuration), made on first use.
    /// - Note: never switches. Its hub only.
    public static var shared: HTTPClient { Hub.current.local(HTTPClient.self) { HTTPClient() } }

    // MARK: - Calls

    /// GET `url` through the hub's shared client.
    /// - Throws: `HTTPClientError`; injected errors.
    /// - Note: switches.
    public static func get(_ url: String, headerFields: HTTPFields = [:], timeout: Duration? = nil) throws -> ClientResponse {
        try shared.get(url, headerFields: headerFields, timeout: timeout)
    }

    /// POST `body` to `url` through the hub's shared client.
    /// - Throws: `HTTPClientError`; injected errors.
    /// - Note: switches.
    public static func post(
        _ url: String, body: [UInt8], contentType: String = "application/octet-stream", timeout: Duration? = nil
    ) throws -> ClientResponse {
        try shared.post(url, body: body, contentType: contentType, timeout: timeout)
    }

    /// GET `url`.
    /// - Throws: `HTTPClientError`; injected errors.
    /// - Note: switches.
    public func get(_ url: String, headerFields: HTTPFields = [:], timeout: Duration? = nil) throws -> ClientResponse {
        try execute(.get, url, headerFields: headerFields, timeout: timeout)
    }

    /// HEAD `url` (the response has no body).
    /// - Throws: `HTTPClientError`; injected errors.
    /// - Note: switches.
    public func head(_ url: String, headerFields: HTTPFields = [:], timeout: Duration? = nil) throws -> ClientResponse {
        try execute(.head, url, headerFields: headerFields, timeout: timeout)
    }

    /// POST `body` with `contentType` to `url`.
    /// - Throws: `HTTPClientError`; injected errors.
    /// - Note: switches.
    public func post(
        _ url: String, body: [UInt8], contentType: String = "application/octet-stream",
        headerFields: HTTPFields = [:], timeout: Duration? = nil
    ) throws -> ClientResponse {
        var fields = headerFields
        fields[.contentType] = contentType
        return try execute(.post, url, headerFields: fields, body: .bytes(body), timeout: timeout)
    }

    /// POST an HTML form (`application/x-www-form-urlencoded`) to `url`.
    /// - Throws: `HTTPClientError`; injected errors.
    /// - Note: switches.
    public func post(_ url: String, form: FormParameters, timeout: Duration? = nil) throws -> ClientResponse {
        try post(url, body: Array(form.encoded.utf8), contentType: "application/x-www-form-urlencoded", timeout: timeout)
    }

    /// POST `value` as JSON to `url`.
    /// - Throws: `EncodingError`; `HTTPClientError`; injected errors.
    /// - Note: switches.
    public func post<T: Encodable>(_ url: String, json value: T, timeout: Duration? = nil) throws -> ClientResponse {
        try post(url, body: try JSONCoding.encode(value), contentType: "application/json", timeout: timeout)
    }

    /// Sends any request and reads the whole response, following redirects.
    /// - Parameters:
    ///   - timeout: for the whole call, redirects included (default `requestTimeout`).
    /// - Throws: `HTTPClientError`; injected errors.
    /// - Note: switches.
    public func execute(
        _ method: HTTPRequest.Method, _ url: String, headerFields: HTTPFields = [:],
        body: ClientRequestBody = .none, timeout: Duration? = nil
    ) throws -> ClientResponse {
        let deadline = ContinuousClock.now + (timeout ?? configuration.requestTimeout)
        var method = method
        var url = url
        var body = body
        var fields = headerFields
        var redirects = 0
        while true {
            let target = try HTTPClient.target(of: url)
            let outcome = try send(method, target, fields: fields, body: body, deadline: deadline)
            let code = outcome.head.status.code
            guard [301, 302, 303, 307, 308].contains(code), let location = outcome.head.headerFields[.location] else {
                return ClientResponse(head: outcome.head, body: outcome.body, url: url)
            }
            let keepsBody = code == 307 || code == 308
            if keepsBody && !body.isReplayable { return ClientResponse(head: outcome.head, body: outcome.body, url: url) }
            redirects += 1
            if redirects > configuration.maxRedirects { throw HTTPClientError.tooManyRedirects(limit: configuration.maxRedirects) }
            let next = HTTPClient.resolve(location, against: target)
            if !keepsBody && method != .head && (code == 303 || method == .post) {
                method = .get
                body = .none
                fields[.contentType] = nil
            }
            if (try? HTTPClient.target(of: next))?.key != target.key { fields[.authorization] = nil }
            url = next
        }
    }

    /// Closes the idle pooled connections.
    /// - Note: never switches.
    public func closeIdleConnections() { pool.closeIdle() }

    /// Connections open to `scheme://host:port` now, idle and in use (for tests and tools).
    /// - Note: never switches.
    public func openConnectionCount(host: String, port: Int, scheme: String = "http") -> Int {
        pool.openCount(Target(scheme: scheme, host: host, port: port, pathAndQuery: "/").key)
    }

    // MARK: - One exchange

    struct Target {
        /// "http" or "https".
        let scheme: String
        let host: String
        let port: Int
        let pathAndQuery: String
        var isSecure: Bool { scheme == "https" }
        /// The pool's key: a plain and a TLS connection to one host never mix.
        var key: String { "\(scheme)://\(host):\(port)" }
        var authority: String {
            port == (isSecure ? 443 : 80) ? host : (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        }
        var origin: String { "\(scheme)://\(authority)" }
    }

    static func target(of url: String) throws -> Target {
        guard let parts = URLParts(url), let scheme = parts.scheme, let host = parts.host, !host.isEmpty else {
            throw HTTPClientError.invalidURL(url)
        }
        guard scheme == "http" || scheme == "https" else { throw HTTPClientError.unsupportedScheme(scheme) }
        return Target(scheme: scheme, host: host, port: parts.port ?? (scheme == "https" ? 443 : 80),
                      pathAndQuery: parts.pathAndQuery)
    }

    /// `location` made absolute against the URL that answered.
    static func resolve(_ location: String, against base: Target) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        if location.hasPrefix("//") { return base.scheme + ":" + location }
        if location.hasPrefix("/") { return base.origin + location }
        let path = base.pathAndQuery.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let directory = path.hasSuffix("/") ? path : String(path[...(path.lastIndex(of: "/") ?? path.startIndex)])
        return base.origin + directory + location
    }

    private func send(
        _ method: HTTPRequest.Method, _ target: Target, fields: HTTPFields, body: ClientRequestBody,
        deadline: ContinuousClock.Instant
    ) throws -> ConnectionOutcome {
        var fresh = false
        while true {
            let (connection, reused) = try pool.acquire(target.key, fresh: fresh, deadline: deadline) {
                try connect(target, deadline: deadline)
            }
            do {
                let outcome = try connection.exchange(
                    method: method, target: target.pathAndQuery, authority: target.authority, fields: fields,
                    body: body, userAgent: configuration.userAgent, deadline: deadline)
                pool.release(connection, reusable: outcome.keepAlive)
                return ConnectionOutcome(head: outcome.head, body: outcome.body)
            } catch {
                pool.release(connection, reusable: false)
                let stale = reused && !connection.sawResponseBytes && body.isReplayable && !fresh
                switch error {
                case let e as SocketError where e == .timedOut: throw HTTPClientError.requestTimeout
                case let e as SocketError where stale && e.isDisconnect: fresh = true
                case ParseFailure.truncated where stale: fresh = true
                case ParseFailure.truncated, is SocketError: throw HTTPClientError.connectionClosed
                case ParseFailure.bodyTooLarge, ParseFailure.headTooLarge: throw HTTPClientError.responseTooLarge
                case ParseFailure.malformed(let why): throw HTTPClientError.malformedResponse(why)
                // A kept-alive TLS connection the server closed without close_notify.
                case TLSError.truncated where stale: fresh = true
                case let e as TLSError: throw HTTPClientError.tls(e)
                default: throw error
                }
            }
        }
    }

    struct ConnectionOutcome {
        let head: HTTPResponse
        let body: [UInt8]
    }

    private func connect(_ target: Target, deadline: ContinuousClock.Instant) throws -> ClientConnection {
        let left = deadline - .now
        if left <= .zero { throw HTTPClientError.requestTimeout }
        let timeout = min(left, configuration.connectTimeout)
        let connectDeadline = ContinuousClock.now + timeout
        let socket: Socket
        do {
            socket = try Socket.connect(host: target.host, port: target.port, timeout: timeout)
        } catch let e as SocketError {
            if e == .timedOut { throw left <= configuration.connectTimeout ? HTTPClientError.requestTimeout : .connectTimeout }
            throw HTTPClientError.connectFailed(e)
        }
        try? socket.setNoDelay()
        var stream: any ByteStream = socket
        if target.isSecure {
            // The handshake gets what is left of the connect timeout (and of the request's).
            stream = try handshake(over: socket, target, deadline: connectDeadline,
                                   requestLimited: left <= configuration.connectTimeout)
        }
        return ClientConnection(
            key: target.key, stream: stream, maxHeadBytes: configuration.maxHeadBytes,
            maxBodyBytes: configuration.maxBodyBytes)
    }
}
