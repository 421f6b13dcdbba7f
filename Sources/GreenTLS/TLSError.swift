import Green

/// What a TLS handshake or session can fail with, named for what went wrong,
/// never a bare OpenSSL code.
///
/// The socket's own failures (reset, broken pipe, `timedOut` of a `recv` or
/// `send`, `closed`) stay `SocketError`s; everything TLS adds is here.
public enum TLSError: ByteStreamError, Equatable, CustomStringConvertible {
    /// The peer's certificate (or one in its chain) has expired.
    case certificateExpired
    /// The peer's certificate (or one in its chain) is not valid yet.
    case certificateNotYetValid
    /// The peer's certificate is valid, but not for the name (or address) we asked for.
    case hostnameMismatch(expected: String)
    /// The peer's chain does not lead to a certificate authority we trust
    /// (self-signed, or issued by a CA missing from the trust store).
    case unknownCA
    /// The peer's certificate failed verification for another reason (OpenSSL's words).
    case certificateInvalid(String)
    /// We require a client certificate and the client sent none.
    case peerCertificateMissing
    /// The peer ended the handshake or session with a fatal alert: it refused
    /// our certificate ("unknown CA", "certificate expired", "bad certificate"),
    /// or found nothing in common with us ("handshake failure", "protocol version").
    case peerAlert(String)
    /// The handshake did not finish within its `timeout:`.
    case handshakeTimedOut
    /// The peer does not speak TLS as we do: not TLS at all (plain text on a
    /// TLS port), a version or cipher we refuse, a malformed record (OpenSSL's words).
    case protocolError(String)
    /// The peer closed the connection without `close_notify`: what was received
    /// may be cut short by an attacker or a crash, so it is not reported as a clean end.
    case truncated
    /// A configuration that cannot work: an unreadable PEM file, a key that does
    /// not match the certificate, a client that verifies without a server name.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .certificateExpired: return "the peer's certificate has expired"
        case .certificateNotYetValid: return "the peer's certificate is not valid yet"
        case .hostnameMismatch(let name): return "the peer's certificate is not valid for '\(name)'"
        case .unknownCA: return "the peer's certificate is not issued by a trusted certificate authority"
        case .certificateInvalid(let why): return "the peer's certificate was rejected: \(why)"
        case .peerCertificateMissing: return "the peer sent no certificate, and one is required"
        case .peerAlert(let alert): return "the peer ended the TLS session with the alert '\(alert)'"
        case .handshakeTimedOut: return "the TLS handshake timed out"
        case .protocolError(let why): return "TLS protocol error: \(why)"
        case .truncated: return "the peer closed the connection without close_notify (truncated)"
        case .invalidConfiguration(let why): return "invalid TLS configuration: \(why)"
        }
    }
}
