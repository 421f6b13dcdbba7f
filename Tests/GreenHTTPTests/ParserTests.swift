@testable import GreenHTTP
import Testing

/// The parser fed the same bytes cut in every way a socket may cut them.
@Suite struct ParserTests {
    static let request = Array((
        "POST /put/foo/ann?x=1 HTTP/1.1\r\nHost: example\r\nX-Empty:\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + "Transfer-Encoding: chunked\r\nX-Long: " + String(repeating: "v", count: 300) + "\r\n\r\n"
        + "4\r\nmess\r\n9\r\nage=hello\r\n0\r\n\r\n"
        + "GET /next HTTP/1.1\r\nHost: example\r\n\r\n").utf8)

    struct Parsed: Equatable {
        var target: String
        var fields: [String]
        var body: String
    }

    /// Feeds `bytes` in pieces of `sizes` (cycled); returns the messages read.
    static func parse(_ bytes: [UInt8], sizes: [Int]) throws -> [Parsed] {
        let parser = MessageParser(request: true)
        var out: [Parsed] = []
        var current: Parsed?
        var at = 0
        var i = 0
        var pending: [UInt8] = []
        while at < bytes.count || !pending.isEmpty {
            if at < bytes.count {
                let n = min(sizes[i % sizes.count], bytes.count - at)
                pending += bytes[at..<at + n]
                at += n
                i += 1
            }
            while !pending.isEmpty {
                let (used, event) = try pending.withUnsafeBytes { try parser.feed($0) }
                pending.removeFirst(used)
                if event == .head {
                    current = Parsed(
                        target: parser.target,
                        fields: parser.fieldRanges.map { "\(parser.text($0.name))=\(parser.text($0.value))" }, body: "")
                }
                current?.body += String(decoding: parser.takeBody(), as: UTF8.self)
                if event == .end, let c = current {
                    out.append(c)
                    current = nil
                }
                if event == .needMore { break }
            }
        }
        return out
    }

    @Test func cutsAnywhereGiveTheSameMessages() throws {
        let whole = try Self.parse(Self.request, sizes: [Self.request.count])
        #expect(whole.count == 2)
        #expect(whole[0].target == "/put/foo/ann?x=1")
        #expect(whole[0].fields.count == 5)
        #expect(whole[0].fields[1] == "X-Empty=")
        #expect(whole[0].fields[4] == "X-Long=" + String(repeating: "v", count: 300))
        #expect(whole[0].body == "message=hello")
        #expect(whole[1].target == "/next")
        for sizes in [[1], [2], [3], [7], [1, 5, 2], [13, 1], [64]] {
            #expect(try Self.parse(Self.request, sizes: sizes) == whole, "pieces of \(sizes)")
        }
        var rng = SplitMix(seed: 11)
        for _ in 0..<50 {
            let sizes = (0..<8).map { _ in Int(rng.next() % 40) + 1 }
            #expect(try Self.parse(Self.request, sizes: sizes) == whole, "pieces of \(sizes)")
        }
    }

    @Test func garbageIsRefusedNeverCrashes() throws {
        var rng = SplitMix(seed: 7)
        let alphabet = Array("GET POST / HTTP/1.1\r\n:Host Content-Length Transfer-Encoding chunked 0123456789abcdef \t\u{0}\u{7f}".utf8)
        for _ in 0..<500 {
            let n = Int(rng.next() % 300)
            var bytes = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            if rng.next() % 2 == 0 { bytes = Array("POST / HTTP/1.1\r\nHost: x\r\n".utf8) + bytes }
            _ = try? Self.parse(bytes, sizes: [Int(rng.next() % 17) + 1])
        }
    }
}

/// A small deterministic random source (tests must repeat).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
