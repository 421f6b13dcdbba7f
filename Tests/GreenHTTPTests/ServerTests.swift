import Foundation
import Green
import GreenHTTP
import HTTPTypes
import Testing

@Suite struct ServerTests {
    @Test func helloWorldKeepsTheConnectionAlive() throws {
        try green {
            let server = try startServer(handler: hello)
            let c = try RawClient(port: server.port)
            for _ in 0..<3 {
                try c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                let r = try c.response()
                #expect(r.statusLine == "HTTP/1.1 200 OK")
                #expect(r.text == "Hello Cruel World!")
                #expect(r.header("Content-Type") == "text/html")
                #expect(r.header("Content-Length") == "18")
                #expect(r.header("Date")?.hasSuffix(" GMT") == true)
                #expect(r.header("Connection") == nil)
            }
            #expect(server.connectionCount == 1)
            try server.stop()
        }
    }

    @Test func http10ClosesUnlessAskedToKeepAlive() throws {
        try green {
            let server = try startServer(handler: hello)
            let a = try RawClient(port: server.port)
            try a.send("GET / HTTP/1.0\r\n\r\n")
            let r = try a.response()
            #expect(r.status == 200)
            #expect(r.header("Connection") == "close")
            #expect(a.isClosedByServer())

            let b = try RawClient(port: server.port)
            for _ in 0..<2 {
                try b.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                let r = try b.response()
                #expect(r.text == "Hello Cruel World!")
                #expect(r.header("Connection") == "keep-alive")
            }
            try server.stop()
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        try green {
            let server = try startServer { request in .text(request.path) }
            let c = try RawClient(port: server.port)
            try c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try c.response().text == "/1")
            #expect(try c.response().text == "/2")
            #expect(try c.response().text == "/3")
            try server.stop()
        }
    }

    @Test func chunkedRequestBodyIsReadWhole() throws {
        try green {
            let server = try startServer { request in .text("got \(try request.bodyText())") }
            let c = try RawClient(port: server.port)
            try c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n")
            #expect(try c.response().text == "got Hello, world")
            // The connection goes on after the chunked body.
            try c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try c.response().text == "got ")
            try server.stop()
        }
    }

    @Test func streamedResponseIsChunkedInHTTP11AndCloseDelimitedIn10() throws {
        try green {
            let server = try startServer { _ in
                Response(headerFields: [.contentType: "text/plain"], body: .stream { w in
                    for i in 1...3 {
                        try w.write("part \(i);")
                        try w.flush()
                    }
                })
            }
            let a = try RawClient(port: server.port)
            try a.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try a.response()
            #expect(r.header("Transfer-Encoding") == "chunked")
            #expect(r.text == "part 1;part 2;part 3;")
            try a.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let old = try a.response()
            #expect(old.header("Transfer-Encoding") == nil)
            #expect(old.header("Connection") == "close")
            #expect(old.text == "part 1;part 2;part 3;")
            try server.stop()
        }
    }

    @Test func expectContinueIsAnsweredWhenTheBodyIsRead() throws {
        try green {
            let server = try startServer { request in
                if request.path == "/refuse" { throw HTTPError(.forbidden) }
                return .text("\(try request.body().count) bytes")
            }
            let c = try RawClient(port: server.port)
            try c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            let interim = try c.response()
            #expect(interim.statusLine == "HTTP/1.1 100 Continue")
            try c.send("abcd")
            #expect(try c.response().text == "4 bytes")

            // Refused before the body: no 100, and the connection closes (the body never came).
            try c.send("POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            let refused = try c.response()
            #expect(refused.status == 403)
            #expect(refused.header("Connection") == "close")
            try server.stop()
        }
    }

    @Test func headHasTheHeadersOfGetAndNoBody() throws {
        try green {
            let server = try startServer(handler: hello)
            let c = try RawClient(port: server.port)
            try c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
            let h = try c.response(head: true)
            #expect(h.status == 200)
            #expect(h.header("Content-Length") == "18")
            // The next response starts right after the head: no body bytes in between.
            #expect(try c.response().text == "Hello Cruel World!")
            try server.stop()
        }
    }

    @Test func handlerErrorsBecomeStatuses() throws {
        try green {
            struct Oops: Error {}
            let server = try startServer { request in
                if request.path == "/teapot" { throw HTTPError(.init(code: 418), "short and stout") }
                throw Oops()
            }
            let c = try RawClient(port: server.port)
            try c.send("GET /teapot HTTP/1.1\r\nHost: x\r\n\r\n")
            let t = try c.response()
            #expect(t.status == 418)
            #expect(t.text == "short and stout\n")
            try c.send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try c.response().status == 500)
            try server.stop()
        }
    }

    @Test func gracefulStopFinishesRequestsInFlight() throws {
        try green {
            let release = Event()
            let entered = Event()
            let server = try startServer { request in
                if request.path == "/slow" {
                    entered.set()
                    _ = try release.wait()
                }
                return .text("done \(request.path)")
            }
            let port = server.port
            let idle = try RawClient(port: port)
            try idle.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try idle.response().text == "done /fast")
            let busy = try RawClient(port: port)
            try busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try entered.wait()
            let stopper = spawn { try server.stop(timeout: .seconds(20)) }
            try yieldGreenlet()
            // The idle connection is closed at once; new connections are refused.
            #expect(idle.isClosedByServer())
            #expect(throws: SocketError.connectionRefused) { _ = try RawClient(port: port) }
            // The request in flight finishes, told the connection closes.
            release.set()
            let r = try busy.response()
            #expect(r.text == "done /slow")
            #expect(r.header("Connection") == "close")
            try stopper.get()
            #expect(server.connectionCount == 0)
        }
    }

    @Test func twoHubsServeOnePortWithReusePort() throws {
        // The shape of serving on every hub: one server per hub, one port.
        let portSet = DispatchSemaphore(value: 0)
        let listening = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var port = 0
        let second = Thread {
            try? runInNewThread {
                portSet.wait()
                let s = HTTPServer(host: "127.0.0.1", port: port, configuration: quiet { $0.reusePort = true }) { _ in .text("hub 2") }
                try s.start()
                listening.signal()
                _ = try ThreadPool.shared.run { done.wait() }  // off the hub, which keeps serving
                try s.stop()
            }
        }
        try green {
            let s = HTTPServer(host: "127.0.0.1", port: 0, configuration: quiet { $0.reusePort = true }) { _ in .text("hub 1") }
            try s.start()
            port = s.port
            second.start()
            portSet.signal()
            // Wait (on an OS thread, off the hub) for the other hub's server to listen.
            _ = try ThreadPool.shared.run { listening.wait() }
            var seen = Set<String>()
            for _ in 0..<40 {
                let c = try RawClient(port: port)
                try c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                seen.insert(try c.response().text)
                c.close()
            }
            #expect(seen.isSubset(of: ["hub 1", "hub 2"]))
            done.signal()
            try s.stop()
        }
    }
}
