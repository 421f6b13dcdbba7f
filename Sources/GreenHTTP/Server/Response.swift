import HTTPTypes

/// What a handler returns: swift-http-types' `HTTPResponse` head and a body.
///
/// The server adds `Date`, `Content-Length` (or chunked framing for a stream
/// without a length) and `Connection`; a `Content-Length` or
/// `Transfer-Encoding` set by the handler is replaced by the server's own,
/// except a `Content-Length` on a stream, which the stream must then honour.
public struct Response {
    /// The body of a response.
    public enum Body {
        /// No body (`Content-Length: 0`).
        case empty
        /// These bytes.
        case bytes([UInt8])
        /// Bytes written as they are made, after the head is sent: chunked in
        /// HTTP/1.1 unless the head has a `Content-Length`; in HTTP/1.0 the
        /// connection closes at the end. The closure runs on the connection's
        /// greenlet and may switch; an error it throws cuts the response short
        /// (the connection closes, the client sees a truncated body).
        case stream((BodyWriter) throws -> Void)
    }

    /// Status and header fields.
    public var head: HTTPResponse
    /// The body.
    public var body: Body

    /// A response with `status`, `headerFields` and `body`.
    public init(status: HTTPResponse.Status = .ok, headerFields: HTTPFields = [:], body: Body = .empty) {
        head = HTTPResponse(status: status, headerFields: headerFields)
        self.body = body
    }

    /// A response whose body is `text`, UTF-8 encoded.
    public init(status: HTTPResponse.Status = .ok, headerFields: HTTPFields = [:], body text: String) {
        self.init(status: status, headerFields: headerFields, body: .bytes(Array(text.utf8)))
    }

    /// The status.
    public var status: HTTPResponse.Status {
        get { head.status }
        set { head.status = newValue }
    }

    /// The header fields.
    public var headerFields: HTTPFields {
        get { head.headerFields }
        set { head.headerFields = newValue }
    }

    /// Adds a header from strings, refusing what would corrupt the response.
    /// (`HTTPFields` itself turns CR and LF into spaces; this refuses them instead.)
    /// - Throws: `ResponseError.invalidHeaderName`, `ResponseError.invalidHeaderValue`
    ///   (CR, LF or NUL in `value`: header injection).
    /// - Note: never switches.
    public mutating func setHeader(_ name: String, _ value: String) throws {
        guard let fieldName = HTTPField.Name(name) else { throw ResponseError.invalidHeaderName(name) }
        if value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
            throw ResponseError.invalidHeaderValue(name: name)
        }
        head.headerFields[fieldName] = value
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headerFields: [.contentType: "text/plain; charset=utf-8"], body: text)
    }

    /// A `text/html; charset=utf-8` response.
    public static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headerFields: [.contentType: "text/html; charset=utf-8"], body: html)
    }

    /// A redirect to `location` (`303 See Other` by default).
    public static func redirect(to location: String, status: HTTPResponse.Status = .seeOther) -> Response {
        Response(status: status, headerFields: [.location: location])
    }
}
