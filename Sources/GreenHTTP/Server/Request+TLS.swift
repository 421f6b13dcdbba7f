import GreenTLS

extension Request {
    /// Whether the request came over TLS (`https://`); `head.scheme` is then "https".
    /// - Note: never switches. From the handler's greenlet.
    public var isSecure: Bool { connection?.tls != nil }

    /// The subject of the certificate the client presented ("/CN=green client"),
    /// verified against the server's `clientCertificates` trust; nil over plain
    /// HTTP or when the client sent none.
    /// - Note: never switches. From the handler's greenlet.
    public var clientCertificateSubject: String? { connection?.tls?.peerCertificateSubject }

    /// The server name the client asked for through SNI, or nil.
    /// - Note: never switches. From the handler's greenlet.
    public var requestedServerName: String? { connection?.tls?.requestedServerName }
}
