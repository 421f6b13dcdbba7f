import HTTPTypes

/// An error a handler throws to answer with a status: `throw HTTPError(.notFound)`.
/// The server sends `status` with `message` (or the status's reason) as a
/// plain-text body. Errors of other types become `500 Internal Server Error`.
public struct HTTPError: Error, Equatable, CustomStringConvertible {
    /// The status to answer with.
    public var status: HTTPResponse.Status
    /// The text of the response body; empty: the status's reason phrase.
    public var message: String

    /// An error answered with `status` and `message`.
    public init(_ status: HTTPResponse.Status, _ message: String = "") {
        self.status = status
        self.message = message
    }

    public var description: String {
        "HTTP \(status.code)\(message.isEmpty ? "" : ": \(message)")"
    }
}

/// A response the server refuses to send as built.
public enum ResponseError: Error, Equatable, CustomStringConvertible {
    /// A header name that is not an RFC 9110 token.
    case invalidHeaderName(String)
    /// A header value with CR, LF or NUL in it: sent as is it would split the
    /// response (header injection), so it is refused, never cleaned up.
    case invalidHeaderValue(name: String)

    public var description: String {
        switch self {
        case .invalidHeaderName(let name): return "invalid header name '\(name)'"
        case .invalidHeaderValue(let name): return "header '\(name)' has CR, LF or NUL in its value"
        }
    }
}

/// HTTP's version on the wire.
public struct HTTPVersion: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The major version (1).
    public var major: Int
    /// The minor version (0 or 1).
    public var minor: Int

    /// A version `major.minor`.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}
