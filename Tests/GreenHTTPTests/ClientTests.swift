import Foundation
import Green
import GreenHTTP
import HTTPTypes
import Testing

@Suite struct ClientTests {
    @Test func keepAlivePoolPerHostHonoursItsLimit() throws {
        try green {
            let inFlight = Box(0)
            let peak = Box(0)
            let server = try startServer { _ in
                inFlight.value += 1
                peak.value = max(peak.value, inFlight.value)
                defer { inFlight.value -= 1 }
                try sleep(.milliseconds(5))
                return .text("ok")
            }
            var config = HTTPClient.Configuration()
            config.maxConnectionsPerHost = 3
            let client = HTTPClient(configuration: config)
            let url = "http://127.0.0.1:\(server.port)/"
            let bodies = try Pool(20).map({ _ in try client.get(url).text }, Array(0..<60))
            #expect(bodies.allSatisfy { $0 == "ok" })
            #expect(peak.value <= 3)
            #expect(client.openConnectionCount(host: "127.0.0.1", port: server.port) <= 3)
            #expect(server.connectionCount <= 3)
            try server.stop()
        }
    }

    @Test func idleConnectionsAreReusedUntilTheirTimeout() throws {
        try green {
            let server = try startServer(handler: hello)
            let url = "http://127.0.0.1:\(server.port)/"
            let keeping = HTTPClient()
            for _ in 0..<5 { _ = try keeping.get(url) }
            #expect(server.connectionCount == 1)
            var config = HTTPClient.Configuration()
            config.idleTimeout = .zero  // never reused
            let fresh = HTTPClient(configuration: config)
            _ = try fresh.get(url)
            _ = try fresh.get(url)
            #expect(fresh.openConnectionCount(host: "127.0.0.1", port: server.port) == 1)
            try server.stop()
        }
    }

    @Test func redirectsAreFollowedUpToTheLimit() throws {
        try green {
            let router = Router()
            router.get("/hop/<n>") { request in
                let n = Int(request.parameters["n"]!)!
                return .redirect(to: n == 0 ? "/done" : "/hop/\(n - 1)", status: .found)
            }
            router.get("/done") { request in .text("done via \(request.method)") }
            router.post("/form") { _ in .redirect(to: "done") }  // 303, relative
            router.post("/keep") { request in
                request.parameters.isEmpty ? .redirect(to: "/echo", status: .temporaryRedirect) : .text("")
            }
            router.post("/echo") { request in .text("echo \(try request.bodyText())") }
            let server = try startServer(router: router)
            let base = "http://127.0.0.1:\(server.port)"
            let client = HTTPClient()
            let r = try client.get(base + "/hop/3")
            #expect(r.text == "done via GET")
            #expect(r.url == base + "/done")
            #expect(throws: HTTPClientError.tooManyRedirects(limit: 5)) { try client.get(base + "/hop/9") }
            #expect(try client.post(base + "/form", body: [1, 2]).text == "done via GET")
            #expect(try client.post(base + "/keep", body: Array("same".utf8)).text == "echo same")
            try server.stop()
        }
    }

    @Test func chunkedBodiesBothWays() throws {
        try green {
            let server = try startServer { request in
                let got = try request.body()
                return Response(body: .stream { w in
                    for _ in 0..<3 { try w.write(got) }
                })
            }
            let client = HTTPClient()
            let r = try client.execute(.post, "http://127.0.0.1:\(server.port)/", body: .stream { w in
                try w.write("ab")
                try w.write("cd")
            })
            #expect(r.text == "abcdabcdabcd")
            #expect(r.headerFields[.transferEncoding] == "chunked")
            try server.stop()
        }
    }

    @Test func typedErrors() throws {
        try green {
            let client = HTTPClient()
            #expect(throws: HTTPClientError.unsupportedScheme("ftp")) { try client.get("ftp://127.0.0.1/") }
            #expect(throws: HTTPClientError.invalidURL("not a url")) { try client.get("not a url") }
            // A port nobody listens on.
            let s = try Socket.listening(on: .loopback(port: 0))
            let port = try s.localAddress().port
            s.close()
            #expect(throws: HTTPClientError.connectFailed(.connectionRefused)) { try client.get("http://127.0.0.1:\(port)/") }

            let stall = Event()
            let server = try startServer { request in
                if request.path == "/cut" {
                    throw SocketError.connectionReset
                }
                _ = try stall.wait()
                return .text("late")
            }
            #expect(throws: HTTPClientError.requestTimeout) {
                try client.get("http://127.0.0.1:\(server.port)/slow", timeout: .milliseconds(100))
            }
            stall.set()
            try server.stop()
        }
    }

    @Test func responsesTooLargeAreRefused() throws {
        try green {
            let server = try startServer { _ in Response(body: .bytes([UInt8](repeating: 1, count: 5000))) }
            var config = HTTPClient.Configuration()
            config.maxBodyBytes = 1000
            let client = HTTPClient(configuration: config)
            #expect(throws: HTTPClientError.responseTooLarge) { try client.get("http://127.0.0.1:\(server.port)/") }
            try server.stop()
        }
    }

    @Test func theServerRefusingAnUploadEarlyIsReadAsItsAnswer() throws {
        try green {
            let server = try startServer({ $0.maxBodyBytes = 1000 }) { request in .text("\(try request.body().count)") }
            let client = HTTPClient()
            let r = try client.post("http://127.0.0.1:\(server.port)/", body: [UInt8](repeating: 7, count: 4 << 20))
            #expect(r.status == .contentTooLarge)
            try server.stop()
        }
    }
}

@Suite struct ConnectTimeoutTests {
    @Test func aConnectThatHangsTimesOut() throws {
        try green {
            // A listener that never accepts, its backlog full: the kernel drops new SYNs.
            let listener = try Socket.listening(on: .loopback(port: 0), backlog: 0)
            let port = try listener.localAddress().port
            var fillers: [Socket] = []
            for _ in 0..<4 {
                let s = try Socket(family: .ipv4)
                try? s.connect(to: .loopback(port: port), timeout: .milliseconds(50))
                fillers.append(s)
            }
            var config = HTTPClient.Configuration()
            config.connectTimeout = .milliseconds(200)
            let client = HTTPClient(configuration: config)
            #expect(throws: HTTPClientError.connectTimeout) { try client.get("http://127.0.0.1:\(port)/") }
            for s in fillers { s.close() }
            listener.close()
        }
    }
}
