import Green
import GreenTLS

/// What an `HTTPClient` call fails with.
public enum HTTPClientError: Error, Equatable, CustomStringConvertible {
    /// Not an absolute `http://` or `https://host[:port]/...` URL.
    case invalidURL(String)
    /// A scheme other than `http` and `https`.
    case unsupportedScheme(String)
    /// No connection within the connect timeout.
    case connectTimeout
    /// The connection could not be made (refused, unreachable, name not found).
    case connectFailed(SocketError)
    /// The whole request (waiting for a pooled connection, sending, the whole response) outlasted its timeout.
    case requestTimeout
    /// The server closed the connection before a whole response.
    case connectionClosed
    /// The response is not HTTP/1.x as RFC 9112 has it.
    case malformedResponse(String)
    /// The response head or body is over the client's limit.
    case responseTooLarge
    /// More redirects than `maxRedirects`.
    case tooManyRedirects(limit: Int)
    /// `https://`: the TLS handshake or session failed, and says why
    /// (`certificateExpired`, `hostnameMismatch`, `unknownCA`,
    /// `handshakeTimedOut`, `peerAlert`, `protocolError`, `truncated`...).
    case tls(TLSError)

    public var description: String {
        switch self {
        case .invalidURL(let url): return "invalid URL '\(url)'"
        case .unsupportedScheme(let scheme): return "unsupported scheme '\(scheme)' (http and https only)"
        case .connectTimeout: return "connect timed out"
        case .connectFailed(let e): return "connect failed: \(e)"
        case .requestTimeout: return "request timed out"
        case .connectionClosed: return "the server closed the connection before a whole response"
        case .malformedResponse(let why): return "malformed response: \(why)"
        case .responseTooLarge: return "the response is over the client's limit"
        case .tooManyRedirects(let limit): return "more than \(limit) redirects"
        case .tls(let e): return "TLS: \(e)"
        }
    }
}
