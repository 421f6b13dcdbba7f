import CHTTPParser
import HTTPTypes

/// Serializes response heads into an `OutputBuffer`.
enum ResponseHead {
    /// Status lines of common statuses, made once ("HTTP/1.1 200 OK\r\n").
    private static let statusLines: [Int: [UInt8]] = {
        var lines: [Int: [UInt8]] = [:]
        for code in [100, 101, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 408,
                     411, 413, 414, 415, 417, 429, 431, 500, 501, 503, 505] {
            lines[code] = Array("HTTP/1.1 \(code) \(reason(code))\r\n".utf8)
        }
        return lines
    }()

    /// http_parser's reason phrase for `code`, or "" for a code it does not know.
    static func reason(_ code: Int) -> String {
        guard let c = http_status_str(http_status(rawValue: UInt32(code))) else { return "" }
        let s = String(cString: c)
        return s == "<unknown>" ? "" : s
    }

    /// Appends the status line of `status`.
    static func appendStatusLine(_ status: HTTPResponse.Status, to out: OutputBuffer) {
        if status.reasonPhrase.isEmpty || status.reasonPhrase == reason(status.code), let line = statusLines[status.code] {
            out.append(line)
            return
        }
        let phrase = status.reasonPhrase.isEmpty ? reason(status.code) : status.reasonPhrase
        out.append("HTTP/1.1 \(status.code) \(phrase)\r\n")
    }

    /// Appends the handler's fields but those the server sets itself.
    /// - Returns: whether they asked for `Connection: close`, and a `Content-Length` they gave.
    /// - Throws: `ResponseError.invalidHeaderValue` when a value has CR, LF or NUL
    ///   (swift-http-types never lets one through; this is the last line of defence).
    static func appendFields(_ fields: HTTPFields, to out: OutputBuffer) throws -> (close: Bool, length: Int?) {
        var close = false
        var length: Int?
        for field in fields {
            switch field.name {
            case .connection:
                if field.value.lowercased().contains("close") { close = true }
                continue
            case .contentLength:
                length = Int(field.value.trimmingSpaces)
                continue
            case .transferEncoding, .date:
                continue
            default:
                break
            }
            out.append(field.name.rawName)
            out.append(": ")
            try field.withUnsafeBytesOfValue { value in
                if value.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
                    throw ResponseError.invalidHeaderValue(name: field.name.rawName)
                }
                out.append(UnsafeRawBufferPointer(value))
            }
            out.append("\r\n")
        }
        return (close, length)
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
