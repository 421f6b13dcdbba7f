/// Where and how to connect: host, port, credentials, virtual host, and the
/// tuning the client asks for (the broker may lower it).
public struct AMQPConfiguration: Equatable, Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 5672
    public var user: String = "guest"
    public var password: String = "guest"
    public var virtualHost: String = "/"
    /// The heartbeat interval asked for; the broker's lower non-zero value wins.
    /// `.zero` turns heartbeats off (when the broker agrees).
    public var heartbeat: Duration = .seconds(10)
    /// For the TCP connect and the AMQP handshake together.
    public var connectTimeout: Duration = .seconds(10)
    /// The largest frame asked for (bytes); the broker's lower value wins.
    public var frameMax: UInt32 = 131072
    /// The most channels asked for; the broker's lower value wins.
    public var channelMax: UInt16 = 2047
    /// Shown in RabbitMQ's management UI and `rabbitmqctl list_connections`.
    public var connectionName: String?
    /// The most bytes a connection holds unsent before `publish` waits for
    /// the socket to drain (a publisher without confirms cannot outrun the
    /// broker or a slow network without bound). Control frames (acks,
    /// heartbeats, close) are never held back by it.
    public var outgoingBufferLimit: Int = 1 << 20

    /// The defaults: guest on 127.0.0.1:5672, virtual host "/".
    public init() {}

    /// A configuration read from `amqp://user:password@host:port/vhost`
    /// (every part optional; `%2f` in the vhost is "/"; the query string
    /// `heartbeat=SECONDS` sets the heartbeat).
    /// - Throws: `AMQPURLError` for another scheme or a bad port.
    public init(url: String) throws {
        self.init()
        guard url.hasPrefix("amqp://") else { throw AMQPURLError(url: url, reason: "the scheme must be amqp://") }
        var rest = Substring(url.dropFirst("amqp://".count))
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == "heartbeat", let s = Int(kv[1]) { heartbeat = .seconds(s) }
            }
            rest = rest[..<q]
        }
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let vhost = rest[rest.index(after: slash)...]
            if !vhost.isEmpty { virtualHost = vhost.removingPercentEncoding() }
        }
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            user = parts[0].removingPercentEncoding()
            if parts.count == 2 { password = parts[1].removingPercentEncoding() }
        }
        if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                throw AMQPURLError(url: url, reason: "bad port")
            }
            port = p
            authority = authority[..<colon]
        }
        if !authority.isEmpty { host = String(authority) }
    }
}

extension Substring {
    /// The text with `%XX` escapes decoded (invalid escapes stay as they are).
    func removingPercentEncoding() -> String {
        var out: [UInt8] = []
        var bytes = Array(utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2,
               let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
