#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes

extension Request {
    /// The body decoded from JSON as `type`.
    /// - Throws: `HTTPError` 400 when it is not such JSON; as `body()`.
    /// - Note: switches.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let bytes = try body()
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw HTTPError(.badRequest, "invalid JSON: \(error)")
        }
    }
}

extension Response {
    /// An `application/json` response of `value`, encoded by `JSONEncoder`.
    /// - Throws: `EncodingError` when `value` cannot be encoded.
    public static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: status, headerFields: [.contentType: "application/json"], body: .bytes(Array(data)))
    }
}

/// JSON encoding and decoding for the client's bodies.
enum JSONCoding {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] { Array(try JSONEncoder().encode(value)) }
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
