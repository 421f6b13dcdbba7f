import Foundation

/// How messages are turned into bytes on the wire: JSON by default, a
/// binary property list as the compact option. The receiver reads the
/// message's content type, so nodes with different choices interoperate.
public enum RemoteEncoding: Sendable {
    case json
    case binary

    var contentType: String {
        switch self {
        case .json: return "application/json"
        case .binary: return "application/x-plist"
        }
    }

    func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        switch self {
        case .json: return [UInt8](try JSONEncoder().encode(value))
        case .binary:
            let e = PropertyListEncoder()
            e.outputFormat = .binary
            // A property list's top level must be a container: wrap the value.
            return [UInt8](try e.encode([value]))
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], contentType: String?,
                                     userInfo: [CodingUserInfoKey: Any]) throws -> T {
        if contentType == RemoteEncoding.binary.contentType {
            let d = PropertyListDecoder()
            d.userInfo = userInfo
            let wrapped = try d.decode([T].self, from: Data(body))
            guard let first = wrapped.first else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "empty property list"))
            }
            return first
        }
        let d = JSONDecoder()
        d.userInfo = userInfo
        return try d.decode(T.self, from: Data(body))
    }
}

/// One node's encoders and decoders, made once (making Foundation's coders
/// costs more than a small message's coding). Hub-local, like its node.
final class RemoteCodec {
    let encoding: RemoteEncoding
    private let json = JSONEncoder()
    private let plist: PropertyListEncoder = {
        let e = PropertyListEncoder()
        e.outputFormat = .binary
        return e
    }()
    private let jsonDecoder = JSONDecoder()
    private let plistDecoder = PropertyListDecoder()

    init(_ encoding: RemoteEncoding) { self.encoding = encoding }

    func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        switch encoding {
        case .json: return [UInt8](try json.encode(value))
        case .binary: return [UInt8](try plist.encode([value]))
        }
    }

    func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], contentType: String?,
                              userInfo: [CodingUserInfoKey: Any]) throws -> T {
        if contentType == RemoteEncoding.binary.contentType {
            plistDecoder.userInfo = userInfo
            guard let first = try plistDecoder.decode([T].self, from: Data(body)).first else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "empty property list"))
            }
            return first
        }
        jsonDecoder.userInfo = userInfo
        return try jsonDecoder.decode(T.self, from: Data(body))
    }
}
