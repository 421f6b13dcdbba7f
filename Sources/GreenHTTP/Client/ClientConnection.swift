import Glibc
import Green
import GreenTLS
import HTTPTypes

/// One kept-alive connection of an `HTTPClient`: writes a request, reads
/// its response. Used by one greenlet at a time (the pool hands it out).
final class ClientConnection {
    let key: String
    let stream: any ByteStream
    private let parser: MessageParser
    private let input = InputBuffer()
    private let output = OutputBuffer(capacity: 4096)
    /// When it last finished a response (for the idle timeout).
    var lastUsed = ContinuousClock.now
    /// Responses read on it so far.
    private(set) var responsesRead = 0

    init(key: String, stream: any ByteStream, maxHeadBytes: Int, maxBodyBytes: Int) {
        self.key = key
        self.stream = stream
        parser = MessageParser(request: false, maxHeadBytes: maxHeadBytes, maxHeaderCount: 1000, maxBodyBytes: maxBodyBytes)
    }

    func close() { stream.close() }

    /// Whether a pooled connection may carry another request: not idle too
    /// long, and the server has not closed it meanwhile (no EOF, no stray bytes).
    func isReusable(idleTimeout: Duration) -> Bool {
        guard ContinuousClock.now - lastUsed < idleTimeout else { return false }
        // Over TLS, any byte waiting (close_notify, an alert) or EOF means the server is done with it.
        guard let socket = (stream as? TLSStream)?.socket ?? (stream as? Socket) else { return true }
        guard !socket.isClosed else { return false }
        var byte: UInt8 = 0
        let n = Glibc.recv(socket.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// What one exchange gave.
    struct Outcome {
        let head: HTTPResponse
        let body: [UInt8]
        /// Whether the connection may go back to the pool.
        let keepAlive: Bool
    }

    /// Whether any byte of a response came back (a failure before that on a
    /// reused connection may be retried on a new one).
    private(set) var sawResponseBytes = false

    /// Sends the request and reads the whole response.
    /// - Throws: `SocketError` (`timedOut` at `deadline`); `ParseFailure`; injected errors.
    /// - Note: switches.
    func exchange(
        method: HTTPRequest.Method, target: String, authority: String, fields: HTTPFields,
        body: ClientRequestBody, userAgent: String, deadline: ContinuousClock.Instant
    ) throws -> Outcome {
        sawResponseBytes = false
        writeHead(method: method, target: target, authority: authority, fields: fields, body: body, userAgent: userAgent)
        do {
            switch body {
            case .none:
                try output.flush(to: stream, timeout: deadline - .now)
            case .bytes(let bytes):
                if bytes.count <= 65536 {
                    output.append(bytes)
                    try output.flush(to: stream, timeout: deadline - .now)
                } else {
                    try output.flush(to: stream, timeout: deadline - .now)
                    try bytes.withUnsafeBytes { try stream.sendAll($0, timeout: deadline - .now) }
                }
            case .stream(let produce):
                try output.flush(to: stream, timeout: deadline - .now)
                let writer = BodyWriter(output: output, stream: stream, framing: .chunked, timeout: deadline - .now)
                try produce(writer)
                try writer.finish()
                try output.flush(to: stream, timeout: deadline - .now)
            }
        } catch let e as SocketError where e == .brokenPipe || e == .connectionReset {
            // The server may have answered early (413...) and closed: read what it said.
            if let early = try? readResponse(method: method, deadline: min(deadline, .now + .seconds(1))) {
                return Outcome(head: early.head, body: early.body, keepAlive: false)
            }
            throw e
        }
        return try readResponse(method: method, deadline: deadline)
    }

    private func writeHead(
        method: HTTPRequest.Method, target: String, authority: String, fields: HTTPFields,
        body: ClientRequestBody, userAgent: String
    ) {
        output.append(method.rawValue)
        output.append(" ")
        output.append(target)
        output.append(" HTTP/1.1\r\nHost: ")
        output.append(authority)
        output.append("\r\n")
        var hasAgent = false
        for field in fields {
            switch field.name {
            case ServerConnection.hostName, .contentLength, .transferEncoding: continue
            case .userAgent: hasAgent = true
            default: break
            }
            output.append(field.name.rawName)
            output.append(": ")
            field.withUnsafeBytesOfValue { output.append(UnsafeRawBufferPointer($0)) }
            output.append("\r\n")
        }
        if !hasAgent {
            output.append("User-Agent: ")
            output.append(userAgent)
            output.append("\r\n")
        }
        switch body {
        case .none:
            if method == .post || method == .put || method == .patch { output.append("Content-Length: 0\r\n") }
        case .bytes(let bytes):
            output.append("Content-Length: ")
            output.appendDecimal(bytes.count)
            output.append("\r\n")
        case .stream:
            output.append("Transfer-Encoding: chunked\r\n")
        }
        output.append("\r\n")
    }

    private func readResponse(method: HTTPRequest.Method, deadline: ContinuousClock.Instant) throws -> Outcome {
        parser.skipBody = method == .head
        var body: [UInt8] = []
        var head: HTTPResponse?
        while true {
            if !input.isEmpty {
                sawResponseBytes = true
                let (n, event) = try parser.feed(input.readable)
                input.consume(n)
                if event == .head {
                    let status = parser.statusCode
                    if (100..<200).contains(status) && status != 101 { continue }  // an interim response
                    head = try makeHead()
                }
                if !parser.body.isEmpty { body.append(contentsOf: parser.takeBody()) }
                if event == .end, let head {
                    responsesRead += 1
                    lastUsed = .now
                    return Outcome(head: head, body: body, keepAlive: parser.shouldKeepAlive && !parser.isUpgrade)
                }
                if event != .needMore { continue }
            }
            if try !input.fill(from: stream, deadline: deadline) {
                // The end of the stream ends a body read until close, or cuts the response.
                if try parser.finish() == .end, let head {
                    if !parser.body.isEmpty { body.append(contentsOf: parser.takeBody()) }
                    return Outcome(head: head, body: body, keepAlive: false)
                }
                throw ParseFailure.truncated
            }
        }
    }

    private func makeHead() throws -> HTTPResponse {
        var fields = HTTPFields()
        fields.reserveCapacity(parser.fieldRanges.count)
        for (nameRange, valueRange) in parser.fieldRanges {
            guard let name = HTTPField.Name(parser.text(nameRange)) else {
                throw ParseFailure.malformed("invalid header name")
            }
            fields.append(parser.withBytes(valueRange) { HTTPField(name: name, value: $0) })
        }
        guard (100...999).contains(parser.statusCode) else { throw ParseFailure.malformed("status \(parser.statusCode)") }
        return HTTPResponse(status: .init(code: parser.statusCode), headerFields: fields)
    }
}
