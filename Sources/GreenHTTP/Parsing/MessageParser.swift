import CHTTPParser

/// Why a message could not be read; the server answers each with its status.
enum ParseFailure: Error, Equatable {
    /// Not HTTP/1.x as RFC 9112 has it (400).
    case malformed(String)
    /// The request line and headers are over their limit (431).
    case headTooLarge
    /// The body is over its limit (413).
    case bodyTooLarge
    /// The stream ended inside a message.
    case truncated
}

/// Node's http_parser (Debian's libhttp-parser, 2.9) driven over bytes as they
/// arrive, for requests (the server) or responses (the client).
///
/// The parser pauses at the end of the head and at the end of the message, so
/// the caller acts between them: build the request, answer `100 Continue`,
/// read the body only when the handler asks. What the parser keeps (the
/// target, header names and values, body bytes) is copied out of the caller's
/// buffer in its callbacks, so the caller's buffer never needs to hold a whole
/// head. Limits are counted here, per message: head bytes, header count, body bytes.
///
/// One per connection, on one greenlet at a time.
final class MessageParser {
    /// Where `feed` stopped.
    enum Event: Equatable {
        /// Every byte given was parsed; the message goes on.
        case needMore
        /// The head is complete (`target`, `fields`, `version`... are set).
        case head
        /// The message is complete; its last body bytes are in `body`.
        case end
    }

    private let parser: UnsafeMutablePointer<http_parser>
    let isRequest: Bool
    /// The most bytes of request line (or status line) and headers.
    var maxHeadBytes: Int
    /// The most header fields.
    var maxHeaderCount: Int
    /// The most body bytes; nil for no limit.
    var maxBodyBytes: Int?
    /// For a response: true when the request was HEAD (no body follows whatever the head says).
    var skipBody = false

    /// The head's bytes: the target, then each name and value, back to back.
    private(set) var headBytes: [UInt8] = []
    private(set) var targetRange = 0..<0
    private(set) var fieldRanges: [(name: Range<Int>, value: Range<Int>)] = []
    private var headCount = 0
    private(set) var headComplete = false
    private(set) var messageComplete = false
    /// Body bytes parsed and not yet taken (`takeBody()`).
    private(set) var body: [UInt8] = []
    /// Body bytes parsed in this message so far.
    private(set) var bodyCount = 0
    private var pausedAt: Event = .needMore
    private var failure: ParseFailure?

    init(request: Bool, maxHeadBytes: Int = 16384, maxHeaderCount: Int = 100, maxBodyBytes: Int? = nil) {
        isRequest = request
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        parser = .allocate(capacity: 1)
        parser.initialize(to: http_parser())
        http_parser_init(parser, request ? HTTP_REQUEST : HTTP_RESPONSE)
        headBytes.reserveCapacity(1024)
        fieldRanges.reserveCapacity(16)
    }

    deinit {
        parser.deinitialize(count: 1)
        parser.deallocate()
    }

    // MARK: - The head, once complete

    /// HTTP major and minor version.
    var version: (major: Int, minor: Int) { (Int(green_http_major(parser)), Int(green_http_minor(parser))) }
    /// The request's method number (http_parser's `enum http_method`).
    var methodNumber: UInt32 { green_http_method(parser) }
    /// The response's status code.
    var statusCode: Int { Int(green_http_status(parser)) }
    /// Whether the connection may carry another message after this one
    /// (HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    var shouldKeepAlive: Bool { http_should_keep_alive(parser) != 0 }
    /// Whether the message asked for an upgrade (or was a CONNECT): its stream is not HTTP after it.
    var isUpgrade: Bool { green_http_upgrade(parser) != 0 }
    /// Whether the body is chunked.
    var isChunked: Bool { green_http_is_chunked(parser) != 0 }
    /// The body length from `Content-Length`, when there was one and the body is not chunked.
    var contentLength: Int? {
        guard green_http_has_content_length(parser) != 0, !isChunked else { return nil }
        let n = green_http_content_length(parser)
        return n == UInt64.max ? nil : Int(clamping: n)
    }

    /// The bytes of the request target (request) as text; invalid UTF-8 becomes U+FFFD.
    var target: String { text(targetRange) }

    /// A range of `headBytes` as text.
    func text(_ range: Range<Int>) -> String {
        headBytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// Runs `body` over a range of `headBytes`.
    func withBytes<T>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        try headBytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// Takes the body bytes parsed so far.
    func takeBody() -> [UInt8] {
        let out = body
        body = []
        return out
    }

    // MARK: - Feeding

    /// Parses as much of `bytes` as the message allows.
    /// - Returns: how many bytes were used, and where parsing stopped.
    /// - Throws: `ParseFailure`; after one, the parser is done for (close the connection).
    func feed(_ bytes: UnsafeRawBufferPointer) throws(ParseFailure) -> (consumed: Int, event: Event) {
        if let failure { throw failure }
        pausedAt = .needMore
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        green_http_set_data(parser, Unmanaged.passUnretained(self).toOpaque())
        feedStart = UnsafePointer(base)
        feedEnd = base.map { UnsafePointer($0 + bytes.count) }
        let n = http_parser_execute(parser, MessageParser.settings, base, bytes.count)
        try checkErrno()
        if pausedAt == .needMore && isUpgrade && headComplete {
            // http_parser stops at an upgrade; this server speaks no other protocol.
            messageComplete = true
            return (n, .end)
        }
        return (n, pausedAt)
    }

    /// Tells the parser the stream ended (a response read until the connection closes).
    /// - Returns: `.end` when that completed the message.
    /// - Throws: `.truncated` when the stream ended inside a message.
    func finish() throws(ParseFailure) -> Event {
        if let failure { throw failure }
        pausedAt = .needMore
        green_http_set_data(parser, Unmanaged.passUnretained(self).toOpaque())
        feedStart = nil
        feedEnd = nil
        _ = http_parser_execute(parser, MessageParser.settings, nil, 0)
        try checkErrno()
        if messageComplete { return .end }
        if headComplete || headCount > 0 { throw ParseFailure.truncated }
        return .needMore
    }

    private func checkErrno() throws(ParseFailure) {
        let err = green_http_errno(parser)
        if err == HPE_OK.rawValue { return }
        if err == HPE_PAUSED.rawValue {
            http_parser_pause(parser, 0)
            return
        }
        let f: ParseFailure
        if let failure {
            f = failure
        } else if err == HPE_HEADER_OVERFLOW.rawValue {
            f = .headTooLarge
        } else if err == HPE_INVALID_EOF_STATE.rawValue {
            f = .truncated
        } else {
            f = .malformed(String(cString: http_errno_description(http_errno(rawValue: err))))
        }
        failure = f
        throw f
    }

    // MARK: - Callbacks (on the feeding greenlet, inside http_parser_execute)

    fileprivate func messageBegan() -> Int32 {
        headBytes.removeAll(keepingCapacity: true)
        fieldRanges.removeAll(keepingCapacity: true)
        targetRange = 0..<0
        lastCut = .none
        headCount = 0
        headComplete = false
        messageComplete = false
        body.removeAll()
        bodyCount = 0
        return 0
    }

    private func countHead(_ length: Int) -> Bool {
        headCount += length
        if headCount > maxHeadBytes {
            failure = .headTooLarge
            return false
        }
        return true
    }

    fileprivate func targetPiece(_ p: UnsafePointer<CChar>, _ length: Int) -> Int32 {
        guard countHead(length) else { return 1 }
        let start = targetRange.isEmpty ? headBytes.count : targetRange.lowerBound
        headBytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: length))
        targetRange = start..<headBytes.count
        return 0
    }

    /// Whether the last name or value piece ran to the end of the bytes fed:
    /// http_parser hands a field over in pieces only across feeds, so a piece
    /// that does not continue a cut one starts a new field.
    private enum Cut { case none, name, value }
    private var lastCut = Cut.none
    private var feedStart: UnsafePointer<CChar>?
    private var feedEnd: UnsafePointer<CChar>?

    fileprivate func namePiece(_ p: UnsafePointer<CChar>, _ length: Int) -> Int32 {
        guard countHead(length + 4) else { return 1 }  // ": " and CRLF count too
        let continuing = lastCut == .name && p == feedStart
        lastCut = p + length == feedEnd ? .name : .none
        if headComplete { return 0 }  // a trailer: counted, not kept
        if !continuing {
            if let last = fieldRanges.last, last.value.lowerBound == Int.max {
                return malformed("header field without a value")
            }
            if fieldRanges.count >= maxHeaderCount {
                failure = .headTooLarge
                return 1
            }
            let at = headBytes.count
            fieldRanges.append((name: at..<at, value: Int.max..<Int.max))
        }
        headBytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: length))
        let i = fieldRanges.count - 1
        fieldRanges[i].name = fieldRanges[i].name.lowerBound..<headBytes.count
        return 0
    }

    fileprivate func valuePiece(_ p: UnsafePointer<CChar>, _ length: Int) -> Int32 {
        guard countHead(length) else { return 1 }
        let continuing = lastCut == .value && p == feedStart
        lastCut = p + length == feedEnd ? .value : .none
        if headComplete { return 0 }
        guard let last = fieldRanges.last else { return malformed("header value without a name") }
        let i = fieldRanges.count - 1
        if !continuing {
            // A second value for one name is a folded line (obs-fold): refused (RFC 9112, 5.2).
            if last.value.lowerBound != Int.max { return malformed("obsolete line folding") }
            fieldRanges[i].value = headBytes.count..<headBytes.count
        }
        headBytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: length))
        fieldRanges[i].value = fieldRanges[i].value.lowerBound..<headBytes.count
        return 0
    }

    private func malformed(_ why: String) -> Int32 {
        failure = .malformed(why)
        return 1
    }

    fileprivate func headDone() -> Int32 {
        headComplete = true
        // A field whose value never came is empty.
        for i in fieldRanges.indices where fieldRanges[i].value.lowerBound == Int.max {
            let end = fieldRanges[i].name.upperBound
            fieldRanges[i].value = end..<end
        }
        if let maxBodyBytes, let length = contentLength, length > maxBodyBytes {
            // Refuse before reading a byte of it.
            failure = .bodyTooLarge
            return -1
        }
        http_parser_pause(parser, 1)
        pausedAt = .head
        return skipBody ? 1 : 0
    }

    fileprivate func bodyPiece(_ p: UnsafePointer<CChar>, _ length: Int) -> Int32 {
        bodyCount += length
        if let maxBodyBytes, bodyCount > maxBodyBytes {
            failure = .bodyTooLarge
            return 1
        }
        body.append(contentsOf: UnsafeRawBufferPointer(start: p, count: length))
        return 0
    }

    fileprivate func messageDone() -> Int32 {
        messageComplete = true
        http_parser_pause(parser, 1)
        pausedAt = .end
        return 0
    }

    // MARK: - The C callbacks

    /// Set once, read by every parser on every thread (never written after).
    nonisolated(unsafe) private static let settings: UnsafeMutablePointer<http_parser_settings> = {
        let s = UnsafeMutablePointer<http_parser_settings>.allocate(capacity: 1)
        s.initialize(to: http_parser_settings())
        http_parser_settings_init(s)
        s.pointee.on_message_begin = { p in MessageParser.of(p).messageBegan() }
        s.pointee.on_url = { p, at, n in MessageParser.of(p).targetPiece(at!, n) }
        s.pointee.on_header_field = { p, at, n in MessageParser.of(p).namePiece(at!, n) }
        s.pointee.on_header_value = { p, at, n in MessageParser.of(p).valuePiece(at!, n) }
        s.pointee.on_headers_complete = { p in MessageParser.of(p).headDone() }
        s.pointee.on_body = { p, at, n in MessageParser.of(p).bodyPiece(at!, n) }
        s.pointee.on_message_complete = { p in MessageParser.of(p).messageDone() }
        return s
    }()

    @inline(__always)
    private static func of(_ p: UnsafeMutablePointer<http_parser>?) -> MessageParser {
        Unmanaged<MessageParser>.fromOpaque(green_http_data(p)!).takeUnretainedValue()
    }
}
