import CHTTPParser

/// The parts of an absolute URL ("http://host:port/path?query") or of a
/// request target, split by http_parser's URL parser.
struct URLParts: Equatable {
    var scheme: String?
    var host: String?
    var port: Int?
    /// The path, still percent-encoded; "/" when the URL has none.
    var path: String
    /// The query after `?`, still encoded.
    var query: String?

    /// The parts of `text`, or nil when it is not a URL http_parser accepts.
    init?(_ text: String) {
        var u = http_parser_url()
        http_parser_url_init(&u)
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count < 65536 else { return nil }
        let rc = utf8.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { http_parser_parse_url($0.baseAddress, $0.count, 0, &u) }
        }
        guard rc == 0 else { return nil }
        func field(_ f: http_parser_url_fields) -> String? {
            guard u.field_set & (1 << UInt16(f.rawValue)) != 0 else { return nil }
            let off = Int(green_url_field_off(&u, Int32(f.rawValue)))
            let len = Int(green_url_field_len(&u, Int32(f.rawValue)))
            return String(decoding: utf8[off..<off + len], as: UTF8.self)
        }
        scheme = field(UF_SCHEMA)?.lowercased()
        host = field(UF_HOST)
        port = field(UF_PORT) != nil ? Int(u.port) : nil
        let p = field(UF_PATH) ?? ""
        path = p.isEmpty ? "/" : p
        query = field(UF_QUERY)
    }

    /// The path with its query: what goes in a request line.
    var pathAndQuery: String { query.map { "\(path)?\($0)" } ?? path }
}

/// Percent-decoding (and `+` as space for forms).
enum PercentEncoding {
    /// `text` with each `%XX` turned into its byte (and `+` into a space when
    /// `plusIsSpace`); a `%` not followed by two hex digits stays as it is.
    /// Bytes that are not UTF-8 become U+FFFD.
    static func decode(_ text: Substring, plusIsSpace: Bool = false) -> String {
        let utf8 = text.utf8
        if !utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) {
            return String(text)
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let c = utf8[i]
            if c == UInt8(ascii: "%"), let h = utf8.index(i, offsetBy: 1, limitedBy: utf8.endIndex), h != utf8.endIndex,
               let l = utf8.index(h, offsetBy: 1, limitedBy: utf8.endIndex), l != utf8.endIndex,
               let hi = hex(utf8[h]), let lo = hex(utf8[l]) {
                out.append(hi << 4 | lo)
                i = utf8.index(after: l)
                continue
            }
            out.append(plusIsSpace && c == UInt8(ascii: "+") ? 32 : c)
            i = utf8.index(after: i)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    /// `text` with every byte but unreserved ones (RFC 3986) as `%XX` (form
    /// values and path segments).
    static func encode(_ text: String) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in text.utf8 {
            switch c {
            case 48...57, 65...90, 97...122, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(c)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(c >> 4)])
                out.append(hexDigits[Int(c & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
