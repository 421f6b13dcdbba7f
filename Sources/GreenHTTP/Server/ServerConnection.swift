import CHTTPParser
import Glibc
import Green
import GreenTLS
import HTTPTypes
import Logging

/// One client connection of an `HTTPServer`, served by its own greenlet:
/// read a head, run the handler, write the response, and again while the
/// connection is kept alive. Requests sent ahead (pipelining) wait in the
/// input buffer and are answered in order; their responses go out together
/// when nothing more is waiting.
///
/// The steps and their limits:
/// 1. wait for the first byte of a request: `headerTimeout` on a new
///    connection, `keepAliveTimeout` after a response; silence closes quietly;
/// 2. read the head within `headerTimeout` of that first byte (408), at most
///    `maxHeadBytes` and `maxHeaderCount` fields (431), well formed and
///    unambiguous about its body (400: no request smuggling);
/// 3. run the handler; its body reads are bounded by `maxBodyBytes` (413)
///    and `bodyTimeout` per read (408);
/// 4. discard the body the handler left unread (or close, past a limit);
/// 5. write the response, then keep the connection or close it.
/// A refused request is answered and the connection closed; other
/// connections never notice.
final class ServerConnection {
    unowned let server: HTTPServer
    let stream: any ByteStream
    /// The same stream when the connection is TLS (https), else nil.
    let tls: TLSStream?
    let peer: SocketAddress?
    private let parser: MessageParser
    private let input = InputBuffer()
    let output = OutputBuffer()
    private let configuration: HTTPServer.Configuration
    /// Waiting for the first byte of a request (what `stop` closes at once).
    private(set) var isIdle = false
    /// Requests begun on this connection.
    private var sequence = 0
    private var expectsContinue = false
    private var continueSent = false
    /// Set when the connection must close after the current response.
    private var mustClose = false

    init(server: HTTPServer, stream: any ByteStream, peer: SocketAddress?) {
        self.server = server
        self.stream = stream
        tls = stream as? TLSStream
        self.peer = peer
        configuration = server.configuration
        parser = MessageParser(
            request: true, maxHeadBytes: configuration.maxHeadBytes,
            maxHeaderCount: configuration.maxHeaderCount, maxBodyBytes: configuration.maxBodyBytes)
    }

    /// Closes the connection if it waits between requests (for `stop`).
    func closeIfIdle() {
        if isIdle { stream.close() }
    }

    // MARK: - The request loop

    /// Serves requests until the connection ends.
    /// - Throws: injected errors (a kill); stream errors end the loop quietly.
    /// - Note: switches.
    func serve() throws {
        do {
            try serveRequests()
        } catch let e as SocketError where e.isDisconnect || e == .timedOut {
            // The client went away or stalled while we wrote: nothing to tell it.
        } catch let e as TLSError {
            // The client closed without close_notify, or broke the session: nothing to tell it either.
            HTTPServer.logger.debug("TLS connection from \(peer.map { "\($0)" } ?? "-") ended: \(e)")
        }
    }

    /// Answers `503 Service Unavailable` (too many connections) and closes.
    func refuseBusy() throws {
        try refuse(.serviceUnavailable, "too many connections")
    }

    private func serveRequests() throws {
        var first = true
        while true {
            // 1. The first byte of the next request.
            if input.isEmpty {
                try output.flush(to: stream, timeout: configuration.writeTimeout)
                if server.isStopping { return }
                isIdle = true
                let got: Bool
                do {
                    got = try input.fill(
                        from: stream,
                        deadline: .now + (first ? configuration.headerTimeout : configuration.keepAliveTimeout))
                } catch let e as SocketError where e == .timedOut || e.isDisconnect {
                    isIdle = false
                    return
                } catch TLSError.truncated {
                    // Many clients close a kept-alive TLS connection without close_notify.
                    isIdle = false
                    return
                }
                isIdle = false
                if !got { return }
            }
            first = false
            sequence += 1
            expectsContinue = false
            continueSent = false
            mustClose = false

            // 2. The head.
            let headDeadline = ContinuousClock.now + configuration.headerTimeout
            do {
                guard try readHead(deadline: headDeadline) else { return }
            } catch let failure as ParseFailure {
                if failure == .truncated { return }
                try refuse(failure.status, failure.message)
                return
            } catch SocketError.timedOut {
                try refuse(.requestTimeout, "the request head took too long")
                return
            }
            let request: Request
            do {
                request = try makeRequest()
            } catch let e as HTTPError {
                try refuse(e.status, e.message)
                return
            }

            // 3. The handler.
            let started = ContinuousClock.now
            let response = try respond(to: request)

            // 4. What the handler left of the body.
            finishBody()

            // 5. The response.
            let keepAlive = parser.shouldKeepAlive && !mustClose && !server.isStopping
            let (status, sent, kept) = try write(response, for: request, keepAlive: keepAlive)
            log(request, status: status, bytes: sent, since: started)
            if !kept {
                try output.flush(to: stream, timeout: configuration.writeTimeout)
                // Bytes may still be on their way only if this request was not read to its end.
                if !parser.messageComplete || !input.isEmpty { lingeringClose() }
                return
            }
            if output.count >= 16384 { try output.flush(to: stream, timeout: configuration.writeTimeout) }
        }
    }

    /// Feeds the parser until the head is complete.
    /// - Returns: false when the client closed before a whole head.
    private func readHead(deadline: ContinuousClock.Instant) throws -> Bool {
        while true {
            if !input.isEmpty {
                let (n, event) = try parser.feed(input.readable)
                input.consume(n)
                if event != .needMore { return true }
            }
            if try !input.fill(from: stream, deadline: deadline) { return false }
        }
    }

    // MARK: - The head, checked

    /// The request of the parsed head, after the checks that keep the body's
    /// length unambiguous (RFC 9112, 6.3) and the head well formed.
    /// - Throws: `HTTPError` with the status to answer.
    private func makeRequest() throws -> Request {
        let version = HTTPVersion(major: parser.version.major, minor: parser.version.minor)
        guard version.major == 1, version.minor <= 1 else {
            throw HTTPError(.init(code: 505), "only HTTP/1.0 and HTTP/1.1")
        }
        var fields = HTTPFields()
        fields.reserveCapacity(parser.fieldRanges.count)
        var lengths: [Substring] = []
        var encodings: [String] = []
        var host: String?
        var hostCount = 0
        var expect: String?
        for (nameRange, valueRange) in parser.fieldRanges {
            guard let name = HTTPField.Name(parser.text(nameRange)) else {
                throw HTTPError(.badRequest, "invalid header name")
            }
            let field = parser.withBytes(valueRange) { HTTPField(name: name, value: $0) }
            switch name {
            case .contentLength: lengths.append(contentsOf: field.value.split(separator: ",").map { $0.trimmingSpaces })
            case .transferEncoding: encodings.append(field.value)
            case .expect: expect = field.value
            case ServerConnection.hostName:
                host = field.value
                hostCount += 1
            default: break
            }
            fields.append(field)
        }
        if !encodings.isEmpty {
            if !lengths.isEmpty { throw HTTPError(.badRequest, "both Content-Length and Transfer-Encoding") }
            if version.minor == 0 { throw HTTPError(.badRequest, "Transfer-Encoding in HTTP/1.0") }
            let codings = encodings.joined(separator: ",").split(separator: ",").map { String($0.trimmingSpaces).lowercased() }
            guard codings.last == "chunked", codings.filter({ $0 == "chunked" }).count == 1, parser.isChunked else {
                throw HTTPError(.badRequest, "the last transfer coding must be chunked")
            }
        }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), first.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw HTTPError(.badRequest, "conflicting Content-Length values")
            }
        }
        if hostCount > 1 || (version.minor == 1 && hostCount == 0) {
            throw HTTPError(.badRequest, hostCount == 0 ? "no Host header" : "several Host headers")
        }
        if let expect {
            guard expect.trimmingSpaces.lowercased() == "100-continue" else {
                throw HTTPError(.expectationFailed, "only 100-continue is understood")
            }
            expectsContinue = version.minor == 1
        }
        let method = ServerConnection.method(parser.methodNumber)
        if method == .connect { throw HTTPError(.methodNotAllowed, "CONNECT is not supported") }
        if parser.isUpgrade { mustClose = true }  // answered as plain HTTP, then closed
        var target = parser.target
        if !target.hasPrefix("/") && target != "*" { target = ServerConnection.originForm(of: target) }
        let head = HTTPRequest(method: method, scheme: tls == nil ? nil : "https", authority: host, path: target, headerFields: fields)
        return Request(head: head, version: version, peer: peer, connection: self, sequence: sequence)
    }

    /// The path and query of an absolute-form target ("http://h/p?q" -> "/p?q").
    static func originForm(of target: String) -> String {
        guard let url = URLParts(target), url.scheme != nil else { return target }
        return url.pathAndQuery
    }

    static let hostName = HTTPField.Name("Host")!

    private static let methods: [HTTPRequest.Method] = [.delete, .get, .head, .post, .put, .connect, .options, .trace]

    static func method(_ number: UInt32) -> HTTPRequest.Method {
        if Int(number) < methods.count { return methods[Int(number)] }
        if number == HTTP_PATCH.rawValue { return .patch }
        return HTTPRequest.Method(String(cString: http_method_str(http_method(rawValue: number))))!
    }

    // MARK: - The handler

    private func respond(to request: Request) throws -> Response {
        do {
            return try server.handler(request)
        } catch is GreenletExit {
            throw GreenletExit()
        } catch let e as HTTPError {
            return ServerConnection.errorResponse(e.status, e.message)
        } catch let e as ResponseError {
            HTTPServer.logger.error("\(request.method) \(request.path): \(e)")
            return ServerConnection.errorResponse(.internalServerError, "")
        } catch let e as SocketError where e.isDisconnect {
            mustClose = true
            return ServerConnection.errorResponse(.badRequest, "")
        } catch is TLSError {
            // The session broke while the handler read the body.
            mustClose = true
            return ServerConnection.errorResponse(.badRequest, "")
        } catch {
            HTTPServer.logger.error("handler for \(request.method) \(request.path) failed: \(error)")
            return ServerConnection.errorResponse(.internalServerError, "")
        }
    }

    static func errorResponse(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let text = message.isEmpty ? "\(status.code) \(ResponseHead.reason(status.code))\n" : message + "\n"
        return Response(status: status, headerFields: [.contentType: "text/plain; charset=utf-8"], body: text)
    }

    // MARK: - The body

    /// The next part of the current request's body, for `Request.readBodyChunk`.
    func readBodyChunk(sequence: Int) throws -> [UInt8]? {
        guard sequence == self.sequence else { return nil }
        if !parser.body.isEmpty { return parser.takeBody() }
        if parser.messageComplete { return nil }
        if expectsContinue && !continueSent {
            continueSent = true
            output.append("HTTP/1.1 100 Continue\r\n\r\n")
            try output.flush(to: stream, timeout: configuration.writeTimeout)
        }
        while true {
            if !input.isEmpty {
                let event: MessageParser.Event
                do {
                    let (n, e) = try parser.feed(input.readable)
                    input.consume(n)
                    event = e
                } catch let failure {
                    mustClose = true
                    throw HTTPError(failure.status, failure.message)
                }
                if !parser.body.isEmpty { return parser.takeBody() }
                if event == .end { return nil }
            }
            let got: Bool
            do {
                got = try input.fill(from: stream, deadline: .now + configuration.bodyTimeout)
            } catch SocketError.timedOut {
                mustClose = true
                throw HTTPError(.requestTimeout, "the request body stalled")
            }
            if !got {
                mustClose = true
                throw SocketError.connectionReset
            }
        }
    }

    /// Reads and drops what the handler left of the body, up to a limit; past
    /// it (or when the client still waits for `100 Continue`) the connection closes.
    private func finishBody() {
        if parser.messageComplete || mustClose { return }
        if expectsContinue && !continueSent {
            mustClose = true
            return
        }
        var dropped = 0
        do {
            while let chunk = try readBodyChunk(sequence: sequence) {
                dropped += chunk.count
                if dropped > configuration.maxBodyBytes {
                    mustClose = true
                    return
                }
            }
        } catch {
            mustClose = true
        }
    }

    // MARK: - The response

    /// Writes `response` (its head, then its body unless the request was HEAD).
    /// - Returns: the status sent, the body bytes sent, and whether the connection stays open.
    private func write(_ response: Response, for request: Request, keepAlive: Bool) throws -> (Int, Int, Bool) {
        let mark = output.count
        var keepAlive = keepAlive
        let status = response.head.status
        let isHead = request.method == .head
        let bodyless = (100..<200).contains(status.code) || status.code == 204 || status.code == 304
        ResponseHead.appendStatusLine(status, to: output)
        let declared: (close: Bool, length: Int?)
        do {
            declared = try ResponseHead.appendFields(response.head.headerFields, to: output)
        } catch {
            HTTPServer.logger.error("\(request.method) \(request.path): \(error); answered 500")
            output.truncate(to: mark)
            return try write(ServerConnection.errorResponse(.internalServerError, ""), for: request, keepAlive: false)
        }
        if declared.close { keepAlive = false }
        output.append("Date: ")
        output.append(server.dates.value)
        output.append("\r\n")
        var framing = BodyWriter.Framing.none
        var bytes: [UInt8] = []
        if !bodyless {
            switch response.body {
            case .empty:
                output.append("Content-Length: 0\r\n")
            case .bytes(let b):
                output.append("Content-Length: ")
                output.appendDecimal(b.count)
                output.append("\r\n")
                bytes = b
            case .stream:
                if let length = declared.length {
                    output.append("Content-Length: ")
                    output.appendDecimal(length)
                    output.append("\r\n")
                    framing = .length(length)
                } else if request.version.minor >= 1 {
                    output.append("Transfer-Encoding: chunked\r\n")
                    framing = .chunked
                } else {
                    framing = .untilClose
                    keepAlive = false
                }
            }
        }
        if !keepAlive {
            output.append("Connection: close\r\n")
        } else if request.version.minor == 0 {
            output.append("Connection: keep-alive\r\n")
        }
        output.append("\r\n")
        if isHead || bodyless { return (status.code, 0, keepAlive) }
        if case .stream(let produce) = response.body {
            let writer = BodyWriter(output: output, stream: stream, framing: framing, timeout: configuration.writeTimeout)
            do {
                try produce(writer)
                try writer.finish()
            } catch is GreenletExit {
                throw GreenletExit()
            } catch let e as SocketError where e.isDisconnect || e == .timedOut {
                throw e
            } catch let e as TLSError {
                throw e
            } catch {
                HTTPServer.logger.error("\(request.method) \(request.path): the body stream failed: \(error)")
                try? output.flush(to: stream, timeout: configuration.writeTimeout)
                return (status.code, writer.bytesWritten, false)
            }
            return (status.code, writer.bytesWritten, keepAlive)
        }
        if bytes.count <= 65536 {
            output.append(bytes)
        } else {
            try output.flush(to: stream, timeout: configuration.writeTimeout)
            try bytes.withUnsafeBytes { try stream.sendAll($0, timeout: configuration.writeTimeout) }
        }
        return (status.code, bytes.count, keepAlive)
    }

    /// Answers a refused request with `status` and closes.
    private func refuse(_ status: HTTPResponse.Status, _ message: String) throws {
        let response = ServerConnection.errorResponse(status, message)
        let request = Request(
            head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"),
            version: .http1_1, peer: peer, connection: nil, sequence: 0)
        let started = ContinuousClock.now
        do {
            _ = try write(response, for: request, keepAlive: false)
            try output.flush(to: stream, timeout: configuration.writeTimeout)
        } catch let e as SocketError where e.isDisconnect || e == .timedOut {
            return
        }
        if let log = server.accessLog, log.logLevel <= .info {
            log.info("\(peer?.host ?? "-") \"-\" \(status.code) refused: \(message) (\(ContinuousClock.now - started))")
        }
        lingeringClose()
    }

    /// Stops sending, then reads and drops what the client still sends for a
    /// moment, so closing with unread bytes does not reset the connection
    /// before the client has read the response (nginx's lingering close).
    private func lingeringClose() {
        let socket: Socket
        if let tls {
            socket = tls.socket
            guard !socket.isClosed else { return }
            // close_notify first, so the client reads a clean end after the response.
            try? tls.shutdown(timeout: configuration.lingerTimeout)
        } else {
            guard let plain = stream as? Socket, !plain.isClosed else { return }
            socket = plain
        }
        try? socket.shutdown(.write)
        let deadline = ContinuousClock.now + configuration.lingerTimeout
        var dropped = input.count
        input.clear()
        while dropped < 1 << 20 {
            guard let got = try? input.fill(from: stream, deadline: deadline), got else { return }
            dropped += input.count
            input.clear()
        }
    }

    // MARK: - Access log

    private func log(_ request: Request, status: Int, bytes: Int, since started: ContinuousClock.Instant) {
        guard let log = server.accessLog, log.logLevel <= .info else { return }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        log.info("\(peer?.host ?? "-") \"\(request.method) \(request.head.path ?? "") \(request.version)\" \(status) \(bytes) \(String(format3: ms))ms")
    }
}

extension ParseFailure {
    /// The status that answers this failure.
    var status: HTTPResponse.Status {
        switch self {
        case .malformed, .truncated: return .badRequest
        case .headTooLarge: return .init(code: 431, reasonPhrase: "Request Header Fields Too Large")
        case .bodyTooLarge: return .contentTooLarge
        }
    }

    var message: String {
        switch self {
        case .malformed(let why): return "malformed request: \(why)"
        case .truncated: return "the request was cut short"
        case .headTooLarge: return "request line and headers are too large"
        case .bodyTooLarge: return "the request body is too large"
        }
    }
}

extension OutputBuffer {
    /// Drops what was appended after `count` bytes.
    func truncate(to count: Int) {
        if count < self.count { dropLast(self.count - count) }
    }
}

extension String {
    /// `x` with three decimals.
    init(format3 x: Double) {
        let scaled = Int((x * 1000).rounded())
        let frac = scaled % 1000
        self = "\(scaled / 1000).\(frac < 10 ? "00" : frac < 100 ? "0" : "")\(frac)"
    }
}
