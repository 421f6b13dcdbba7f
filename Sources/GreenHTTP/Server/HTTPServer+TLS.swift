import Green
import GreenTLS

extension TLSConfiguration {
    /// A server configuration for `HTTPServer(tls:)`: `server(...)` with ALPN
    /// `["http/1.1"]` (a client offering only "h2" goes on without ALPN and
    /// speaks HTTP/1.1, as browsers and curl do).
    /// - Throws: `TLSError.invalidConfiguration` (as `server`).
    /// - Note: reads files with blocking calls; never switches. Any thread.
    public static func httpServer(
        certificateChain: PEM, privateKey: PEM, clientCertificates: ClientCertificates = .none
    ) throws -> TLSConfiguration {
        try .server(certificateChain: certificateChain, privateKey: privateKey,
                    clientCertificates: clientCertificates, alpn: ["http/1.1"])
    }

    /// A client configuration for `HTTPClient.Configuration.tls`: `client(...)`
    /// with ALPN `["http/1.1"]`; it verifies the server's chain against `trust`
    /// and its host name.
    /// - Throws: `TLSError.invalidConfiguration` (as `client`).
    /// - Note: reads files with blocking calls; never switches. Any thread.
    public static func httpClient(
        trust: Trust = .systemStore, certificateChain: PEM? = nil, privateKey: PEM? = nil
    ) throws -> TLSConfiguration {
        try .client(trust: trust, certificateChain: certificateChain, privateKey: privateKey, alpn: ["http/1.1"])
    }

    /// The protocols an HTTP/1.x server or client may agree on through ALPN.
    static let http1Protocols: Set<String> = ["http/1.1", "http/1.0"]
}

extension HTTPServer {
    /// Refuses what cannot serve HTTP/1.x over TLS.
    static func check(_ tls: TLSConfiguration) throws {
        guard tls.role == .server else {
            throw TLSError.invalidConfiguration("HTTPServer(tls:) needs a server configuration")
        }
        if let other = tls.alpn.first(where: { !TLSConfiguration.http1Protocols.contains($0) }) {
            throw TLSError.invalidConfiguration("HTTPServer speaks HTTP/1.x only; the ALPN list offers '\(other)'")
        }
    }

    /// Makes a connection's handshake within `handshakeTimeout`.
    /// - Returns: false when it failed (logged at debug level: the client's doing).
    /// - Throws: injected errors only.
    /// - Note: switches.
    func handshake(_ stream: TLSStream, _ peer: SocketAddress) throws -> Bool {
        do {
            try stream.handshake(timeout: configuration.handshakeTimeout)
            return true
        } catch let e as TLSError {
            HTTPServer.logger.debug("TLS handshake with \(peer) failed: \(e)")
        } catch let e as SocketError {
            HTTPServer.logger.debug("TLS handshake with \(peer) failed: \(e)")
        }
        return false
    }
}
