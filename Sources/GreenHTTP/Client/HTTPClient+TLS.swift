import Green
import GreenTLS

extension HTTPClient {
    /// The configuration `https://` uses when `Configuration.tls` is nil: the
    /// system's CA store, ALPN "http/1.1"; made once per process (loading the
    /// store is the costly part) and shared, as OpenSSL contexts may be.
    static let systemTLS = Result { try TLSConfiguration.httpClient() }

    /// The client TLS configuration in force.
    /// - Throws: `HTTPClientError.tls(.invalidConfiguration)` (the system's store
    ///   cannot be read, or a server configuration was given).
    func tlsConfiguration() throws -> TLSConfiguration {
        do {
            let tls = try configuration.tls ?? HTTPClient.systemTLS.get()
            guard tls.role == .client else {
                throw TLSError.invalidConfiguration("HTTPClient needs a client TLS configuration")
            }
            return tls
        } catch let e as TLSError {
            throw HTTPClientError.tls(e)
        }
    }

    /// The TLS session over a connected `socket` to `target`: SNI and host
    /// name verification for `target.host`, handshake by `deadline`.
    /// - Parameters:
    ///   - requestLimited: whether `deadline` is the request's (not the connect timeout's).
    /// - Throws: `HTTPClientError.tls(...)` (`.handshakeTimedOut` when the connect
    ///   timeout ran out), `.requestTimeout` when the request's did,
    ///   `.connectFailed` when the connection broke; injected errors. The socket
    ///   is closed on failure.
    /// - Note: switches.
    func handshake(
        over socket: Socket, _ target: Target, deadline: ContinuousClock.Instant, requestLimited: Bool
    ) throws -> TLSStream {
        do {
            let tls = try TLSStream(client: socket, serverName: target.host, configuration: try tlsConfiguration())
            try tls.handshake(timeout: max(.zero, deadline - .now))
            if let chosen = tls.negotiatedProtocol, !TLSConfiguration.http1Protocols.contains(chosen) {
                tls.close()
                throw HTTPClientError.tls(.protocolError("the server chose '\(chosen)' through ALPN; this client speaks HTTP/1.x"))
            }
            return tls
        } catch {
            socket.close()
            switch error {
            case TLSError.handshakeTimedOut where requestLimited: throw HTTPClientError.requestTimeout
            case let e as TLSError: throw HTTPClientError.tls(e)
            case let e as SocketError: throw HTTPClientError.connectFailed(e)
            default: throw error
            }
        }
    }
}
