import Foundation
import Green
import GreenHTTP
import HTTPTypes
import Testing

/// Every limit of the server, each with its status; every smuggling attempt refused.
@Suite struct LimitTests {
    /// Sends `request` on a new connection; returns the response and whether the server then closed.
    static func exchange(_ server: HTTPServer, _ request: String) throws -> (RawResponse, closed: Bool) {
        let c = try RawClient(port: server.port)
        defer { c.close() }
        try c.send(request)
        let r = try c.response()
        return (r, c.isClosedByServer())
    }

    static func echoServer(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in }) throws -> HTTPServer {
        try startServer(configure) { request in .text("body=\(try request.bodyText())") }
    }

    @Test func requestLineAndHeadersOverTheLimitAre431() throws {
        try green {
            let server = try Self.echoServer { $0.maxHeadBytes = 1024; $0.maxHeaderCount = 10 }
            let longTarget = "/" + String(repeating: "a", count: 2000)
            let (a, closedA) = try Self.exchange(server, "GET \(longTarget) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(a.status == 431)
            #expect(closedA)
            let bigHeader = "X-Big: " + String(repeating: "b", count: 2000) + "\r\n"
            let (b, _) = try Self.exchange(server, "GET / HTTP/1.1\r\nHost: x\r\n\(bigHeader)\r\n")
            #expect(b.status == 431)
            let many = (0..<20).map { "X-\($0): v\r\n" }.joined()
            let (c, _) = try Self.exchange(server, "GET / HTTP/1.1\r\nHost: x\r\n\(many)\r\n")
            #expect(c.status == 431)
            try server.stop()
        }
    }

    @Test func bodyOverTheLimitIs413() throws {
        try green {
            let server = try Self.echoServer { $0.maxBodyBytes = 100 }
            // Declared too large: refused before a byte of it is read.
            let big = String(repeating: "x", count: 200)
            let (a, closedA) = try Self.exchange(server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n\(big)")
            #expect(a.status == 413)
            #expect(closedA)
            // Chunked: refused once the chunks pass the limit.
            let chunk = String(repeating: "y", count: 80)
            let (b, _) = try Self.exchange(
                server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n\(chunk)\r\n50\r\n\(chunk)\r\n0\r\n\r\n")
            #expect(b.status == 413)
            // Under the limit: served.
            let (c, _) = try Self.exchange(server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
            #expect(c.text == "body=abc")
            try server.stop()
        }
    }

    static let malformed: [String: String] = [
        "not HTTP": "HELLO THERE\r\n\r\n",
        "bad version": "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        "no Host in 1.1": "GET / HTTP/1.1\r\n\r\n",
        "two Hosts": "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "bad chunk size": "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "control byte in a header": "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{01}b\r\n\r\n",
        "bad Content-Length": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
    ]

    @Test(arguments: malformed.keys.sorted())
    func malformedRequestsAre400(name: String) throws {
        let request = Self.malformed[name]!
        try green {
            let server = try Self.echoServer()
            let (r, closed) = try Self.exchange(server, request)
            #expect(r.status == 400 || r.status == 505, "\(name): \(r.statusLine)")
            #expect(closed, "\(name)")
            try server.stop()
        }
    }

    /// Requests whose body length two parsers could read differently: each is
    /// refused, and nothing after it is taken for a second request.
    static let smuggling: [String: String] = [
        "Content-Length and Transfer-Encoding": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "Transfer-Encoding and Content-Length": "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "two different lengths": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "a list of lengths": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 44\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "chunked not last": "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "an unknown coding": "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "space before the colon": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 30\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "Transfer-Encoding in HTTP/1.0": "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "folded header": "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    ]

    @Test(arguments: smuggling.keys.sorted())
    func smugglingIsRefused(name: String) throws {
        let request = Self.smuggling[name]!
        try green {
            let smuggled = Box(false)
            let server = try startServer { request in
                if request.path == "/smuggled" { smuggled.value = true }
                return .text("body=\(try request.bodyText())")
            }
            let (r, closed) = try Self.exchange(server, request)
            #expect(r.status == 400, "\(name): \(r.statusLine)")
            #expect(closed, "\(name)")
            #expect(!smuggled.value, "\(name)")
            try server.stop()
        }
    }

    @Test func crlfInAResponseHeaderIsRefused() throws {
        try green {
            let server = try startServer { request in
                var response = Response.text("hello")
                if request.path == "/fields" {
                    // swift-http-types never keeps CR or LF in a value.
                    response.headerFields[HTTPField.Name("X-Evil")!] = "a\r\nSet-Cookie: pwned=1"
                } else {
                    try response.setHeader("X-Evil", "a\r\nSet-Cookie: pwned=1")
                }
                return response
            }
            let c = try RawClient(port: server.port)
            try c.send("GET /set HTTP/1.1\r\nHost: x\r\n\r\n")
            let refused = try c.response()
            #expect(refused.status == 500)
            #expect(refused.header("Set-Cookie") == nil)
            try c.send("GET /fields HTTP/1.1\r\nHost: x\r\n\r\n")
            let cleaned = try c.response()
            #expect(cleaned.header("Set-Cookie") == nil)
            #expect(cleaned.header("X-Evil")?.contains("\r") == false)
            try server.stop()
        }
    }

    @Test func aSlowHeadIs408() throws {
        try green {
            let server = try Self.echoServer { $0.headerTimeout = .milliseconds(200) }
            let c = try RawClient(port: server.port)
            try c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            // Then nothing more (slowloris): the server gives up on the head.
            let r = try c.response()
            #expect(r.status == 408)
            #expect(c.isClosedByServer())
            try server.stop()
        }
    }

    @Test func anIdleKeptAliveConnectionIsClosed() throws {
        try green {
            let server = try Self.echoServer { $0.keepAliveTimeout = .milliseconds(100) }
            let c = try RawClient(port: server.port)
            try c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try c.response().status == 200)
            #expect(c.isClosedByServer())
            try server.stop()
        }
    }

    @Test func connectionsOverTheLimitAre503() throws {
        try green {
            let server = try Self.echoServer { $0.maxConnections = 2 }
            var open: [RawClient] = []
            for _ in 0..<2 {
                let c = try RawClient(port: server.port)
                try c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try c.response().status == 200)
                open.append(c)
            }
            let (r, closed) = try Self.exchange(server, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(r.status == 503)
            #expect(closed)
            // One leaves: there is room again.
            open.removeFirst().close()
            var served = false
            for _ in 0..<200 where !served {
                let (again, _) = try Self.exchange(server, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                served = again.status == 200
                if !served { try sleep(.milliseconds(10)) }
            }
            #expect(served)
            try server.stop()
        }
    }

    @Test func aBadRequestNeverDisturbsAnotherConnection() throws {
        try green {
            let server = try Self.echoServer()
            let good = try RawClient(port: server.port)
            try good.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try good.response().status == 200)
            for bad in ["\u{00}\u{01}\u{02}garbage\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"] {
                let (r, _) = try Self.exchange(server, bad)
                #expect(r.status == 400)
            }
            try good.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
            #expect(try good.response().text == "body=ok")
            try server.stop()
        }
    }
}

final class Box<T> {
    var value: T
    init(_ value: T) { self.value = value }
}
