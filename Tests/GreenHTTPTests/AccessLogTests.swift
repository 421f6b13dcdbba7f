import Green
import GreenHTTP
import Logging
import Testing

/// Collects what a logger is given (one hub: no lock needed beyond the class).
final class LogLines: @unchecked Sendable {
    var lines: [String] = []
}

struct CapturingHandler: LogHandler {
    let sink: LogLines
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { sink.lines.append("\(event.message)") }
}

@Suite struct AccessLogTests {
    @Test func everyRequestIsLoggedThroughSwiftLog() throws {
        try green {
            let sink = LogLines()
            let server = try startServer({ $0.accessLog = Logger(label: "test.access") { _ in CapturingHandler(sink: sink) } }) { _ in
                .text("hi")
            }
            let c = try RawClient(port: server.port)
            try c.send("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /missing HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
            _ = try c.response()
            _ = try c.response()
            try server.stop()
            #expect(sink.lines.count == 2)
            #expect(sink.lines.first?.contains("127.0.0.1 \"GET /a?b=1 HTTP/1.1\" 200 2") == true)
            #expect(sink.lines.last?.contains("\"POST /missing HTTP/1.0\" 200 2") == true)
        }
    }
}
