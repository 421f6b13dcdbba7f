import HTTPTypes

/// A response as the client read it: swift-http-types' `HTTPResponse` head and the whole body.
public struct ClientResponse {
    /// Status and header fields.
    public let head: HTTPResponse
    /// The body, de-chunked (empty for HEAD, 204, 304).
    public let body: [UInt8]
    /// The URL that answered (the last one, after redirects).
    public let url: String

    /// The status.
    public var status: HTTPResponse.Status { head.status }
    /// The header fields.
    public var headerFields: HTTPFields { head.headerFields }
    /// The body as UTF-8 text (invalid bytes become U+FFFD).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body decoded from JSON as `type`.
    /// - Throws: `DecodingError`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONCoding.decode(type, from: body) }
}

/// The body of a client request.
public enum ClientRequestBody {
    /// No body.
    case none
    /// These bytes (`Content-Length`); replayable on a redirect or a retry.
    case bytes([UInt8])
    /// Bytes written as they are made, sent chunked; not replayable.
    case stream((BodyWriter) throws -> Void)

    var isReplayable: Bool {
        if case .stream = self { return false }
        return true
    }
}
