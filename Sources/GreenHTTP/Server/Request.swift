import Green
import HTTPTypes

/// A request as a handler sees it: swift-http-types' `HTTPRequest` head, the
/// router's path parameters, and a body read on demand.
///
/// The body is not read before the handler asks for it (`body()`,
/// `readBodyChunk()`, `form()`, `decode(_:)`): a handler that refuses a
/// request never pays for its body, and `Expect: 100-continue` is answered
/// only when the body is first asked for. What the handler leaves unread is
/// discarded after it returns. Body reads work only while the handler runs,
/// on the connection's greenlet.
public struct Request {
    /// Method, target (`path`, with the query), `Host` (as `authority`) and the header fields.
    public let head: HTTPRequest
    /// HTTP/1.0 or HTTP/1.1.
    public let version: HTTPVersion
    /// The client's address.
    public let peer: SocketAddress?
    /// The target's path, before `?`, still percent-encoded ("/a%20b").
    public let path: String
    /// The target's query, after `?`, still encoded; nil when there is none.
    public let rawQuery: String?
    /// The values the route's `<name>` segments matched, percent-decoded.
    public internal(set) var parameters: [String: String] = [:]
    let connection: ServerConnection?
    let sequence: Int

    init(head: HTTPRequest, version: HTTPVersion, peer: SocketAddress?, connection: ServerConnection?, sequence: Int) {
        self.head = head
        self.version = version
        self.peer = peer
        self.connection = connection
        self.sequence = sequence
        let target = head.path ?? "/"
        if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<q])
            rawQuery = String(target[target.index(after: q)...])
        } else {
            path = target
            rawQuery = nil
        }
    }

    /// The method (`.get`, `.post`...).
    public var method: HTTPRequest.Method { head.method }
    /// The header fields.
    public var headerFields: HTTPFields { head.headerFields }
    /// The decoded query parameters (`?a=1&b=x+y`).
    public var query: FormParameters { FormParameters(encoded: rawQuery ?? "") }

    /// Reads the next part of the body as it arrives (chunked or not).
    /// - Returns: some bytes, or nil once the body is over.
    /// - Throws: `HTTPError` 413 past the server's body limit, 408 when the
    ///   client stalls, 400 when the body is malformed or cut short; injected errors.
    /// - Note: switches while nothing has arrived. Only from the handler's greenlet, while it runs.
    public func readBodyChunk() throws -> [UInt8]? {
        guard let connection else { return nil }
        return try connection.readBodyChunk(sequence: sequence)
    }

    /// Reads the whole body (at most the server's `maxBodyBytes`).
    /// - Throws: as `readBodyChunk()`.
    /// - Note: switches. Only from the handler's greenlet, while it runs.
    public func body() throws -> [UInt8] {
        var all: [UInt8] = []
        while let chunk = try readBodyChunk() {
            if all.isEmpty { all = chunk } else { all.append(contentsOf: chunk) }
        }
        return all
    }

    /// The whole body as UTF-8 text (invalid bytes become U+FFFD).
    /// - Throws: as `body()`.
    /// - Note: switches.
    public func bodyText() throws -> String {
        String(decoding: try body(), as: UTF8.self)
    }

    /// The body as an HTML form (`application/x-www-form-urlencoded`).
    /// - Throws: `HTTPError` 415 for another content type; as `body()`.
    /// - Note: switches.
    public func form() throws -> FormParameters {
        let type = headerFields[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw HTTPError(.unsupportedMediaType, "expected application/x-www-form-urlencoded")
        }
        return FormParameters(encoded: try bodyText())
    }
}
