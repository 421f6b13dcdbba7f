import Foundation
import Glibc
import Green
import GreenHTTP
import GreenTLS
import GreenTestSupport
import Testing

/// GreenHTTP over TLS: Green's HTTPS server against curl, Green's HTTPS client
/// against `openssl s_server -www` and against Green's server, and each
/// verification failure as a typed `HTTPClientError.tls`.
@Suite struct HTTPSTests {
    /// What a handler saw of a request.
    final class Seen {
        var secure: [Bool] = []
        var schemes: [String?] = []
        var serverNames: [String?] = []
        var clientSubjects: [String?] = []
    }

    /// An HTTPS server on 127.0.0.1 and a free port: GET answers the seeds'
    /// hello, POST answers its body's length, `/redirect` sends to `/`.
    func startHTTPSServer(
        _ tls: TLSConfiguration, seen: Seen = Seen(), configure: (inout HTTPServer.Configuration) -> Void = { _ in }
    ) throws -> HTTPServer {
        var configuration = HTTPServer.Configuration()
        configuration.accessLog = nil
        configure(&configuration)
        let server = HTTPServer(host: "127.0.0.1", port: 0, configuration: configuration, tls: tls) { request in
            seen.secure.append(request.isSecure)
            seen.schemes.append(request.head.scheme)
            seen.serverNames.append(request.requestedServerName)
            seen.clientSubjects.append(request.clientCertificateSubject)
            if request.path == "/redirect" { return Response(status: .found, headerFields: [.location: "/"]) }
            if request.method == .post { return Response(body: "\(try request.body().count) bytes\n") }
            return Response(status: .ok, headerFields: [.contentType: "text/html"], body: "Hello Cruel World!")
        }
        try server.start()
        return server
    }

    /// A client trusting the test CA (ALPN http/1.1).
    func client(_ certs: TestCertificates, change: (inout HTTPClient.Configuration) -> Void = { _ in }) throws -> HTTPClient {
        var c = HTTPClient.Configuration()
        c.tls = try .httpClient(trust: .certificateAuthorities(.file(certs.ca)))
        change(&c)
        return HTTPClient(configuration: c)
    }

    // MARK: - Green's server, curl's client

    @Test func curlGetsAndPostsOverOneConnectionToTheGreenHTTPSServer() throws {
        let certs = try TestCertificates.shared()
        let seen = Seen()
        let (get, post) = try green { () -> ((status: Int32, stdout: String, stderr: String), (status: Int32, stdout: String, stderr: String)) in
            let server = try startHTTPSServer(try .httpServer(certificateChain: .file(certs.server), privateKey: .file(certs.serverKey)), seen: seen)
            defer { try? server.stop() }
            let url = "https://localhost:\(server.port)/"
            let common = ["-sS", "--max-time", "30", "--cacert", certs.ca, "--resolve", "localhost:\(server.port):127.0.0.1"]
            // Two URLs in one run: curl keeps the connection alive between them.
            let get = try runToolGreen("curl", common + ["-w", " %{http_code} %{num_connects}\\n", url, url])
            // A body of 300 KB: many TLS records each way.
            let post = try runToolGreen("curl", common + ["--data-binary", "@-", url],
                                        stdin: String(repeating: "0123456789", count: 30_000))
            return (get, post)
        }
        #expect(get.status == 0, "\(get.stderr)")
        #expect(get.stdout == "Hello Cruel World! 200 1\nHello Cruel World! 200 0\n")
        #expect(post.status == 0, "\(post.stderr)")
        #expect(post.stdout == "300000 bytes\n")
        #expect(seen.secure == [true, true, true])
        #expect(seen.schemes == ["https", "https", "https"])
        #expect(seen.serverNames.first == "localhost")
    }

    @Test func curlRefusesAGreenHTTPSServerForAnotherHost() throws {
        let certs = try TestCertificates.shared()
        let result = try green { () -> (status: Int32, stdout: String, stderr: String) in
            let server = try startHTTPSServer(try .httpServer(certificateChain: .file(certs.wrongHost), privateKey: .file(certs.serverKey)))
            defer { try? server.stop() }
            return try runToolGreen("curl", [
                "-sS", "--max-time", "30", "--cacert", certs.ca, "--resolve", "localhost:\(server.port):127.0.0.1",
                "https://localhost:\(server.port)/",
            ])
        }
        #expect(result.status == 60, "\(result.stderr)")  // curl: the peer's certificate cannot be authenticated
    }

    @Test func theServerAgreesOnHTTP11ThroughALPNAndRefusesH2Configurations() throws {
        let certs = try TestCertificates.shared()
        let (chosen, refused) = try green { () -> (String?, (any Error)?) in
            let server = try startHTTPSServer(try .httpServer(certificateChain: .file(certs.server), privateKey: .file(certs.serverKey)))
            defer { try? server.stop() }
            let tls = try TLSStream.connect(host: "localhost", port: server.port,
                                            configuration: try certs.clientConfiguration(alpn: ["h2", "http/1.1"]),
                                            timeout: .seconds(30))
            defer { tls.close() }
            let h2 = HTTPServer(host: "127.0.0.1", port: 0, tls: try certs.serverConfiguration(alpn: ["h2", "http/1.1"])) { _ in Response() }
            var refused: (any Error)?
            do { try h2.start() } catch { refused = error }
            return (tls.negotiatedProtocol, refused)
        }
        #expect(chosen == "http/1.1")
        guard case .invalidConfiguration? = refused as? TLSError else {
            Issue.record("expected invalidConfiguration, got \(String(describing: refused))")
            return
        }
    }

    // MARK: - Green's client

    @Test func greenClientAgainstOpenSSLSServerWWW() throws {
        let certs = try TestCertificates.shared()
        let response = try green { () -> ClientResponse in
            let tool = try BackgroundTool("openssl", [
                "s_server", "-www", "-accept", "127.0.0.1:0", "-naccept", "1",
                "-cert", certs.server, "-key", certs.serverKey,
            ])
            defer { try? tool.stop() }
            var port = 0
            while let line = try tool.readLine() {
                if line.hasPrefix("ACCEPT"), let p = line.split(separator: ":").last.flatMap({ Int($0) }) {
                    port = p
                    break
                }
            }
            return try client(certs).get("https://localhost:\(port)/", timeout: .seconds(30))
        }
        #expect(response.status.code == 200)
        #expect(response.text.contains("Ciphers supported in s_server binary"))
        // s_server reports the session it made with us.
        #expect(response.text.contains("TLSv1.3"))
    }

    @Test func greenClientToGreenServerKeepsOneConnectionAlive() throws {
        let certs = try TestCertificates.shared()
        let seen = Seen()
        let (texts, posted, redirected, open, openPlain) = try green { () -> ([String], String, String, Int, Int) in
            let server = try startHTTPSServer(try .httpServer(certificateChain: .file(certs.server), privateKey: .file(certs.serverKey)), seen: seen)
            defer { try? server.stop() }
            let client = try client(certs)
            let url = "https://localhost:\(server.port)/"
            var texts: [String] = []
            for _ in 0..<3 { texts.append(try client.get(url, timeout: .seconds(30)).text) }
            let posted = try client.post(url, body: [UInt8](repeating: 7, count: 200_000), timeout: .seconds(30)).text
            let redirected = try client.get(url + "redirect", timeout: .seconds(30)).url
            let open = client.openConnectionCount(host: "localhost", port: server.port, scheme: "https")
            let openPlain = client.openConnectionCount(host: "localhost", port: server.port)
            return (texts, posted, redirected, open, openPlain)
        }
        #expect(texts == Array(repeating: "Hello Cruel World!", count: 3))
        #expect(posted == "200000 bytes\n")
        #expect(redirected.hasPrefix("https://localhost:"))
        #expect(open == 1)
        #expect(openPlain == 0)
        #expect(seen.secure.allSatisfy { $0 })
    }

    @Test func anIPv6LiteralIsVerifiedAgainstTheCertificatesAddresses() throws {
        let certs = try TestCertificates.shared()
        let (text, host) = try green { () -> (String, String?) in
            var configuration = HTTPServer.Configuration()
            configuration.accessLog = nil
            var host: String?
            let server = HTTPServer(host: "::1", port: 0, configuration: configuration,
                                    tls: try .httpServer(certificateChain: .file(certs.server), privateKey: .file(certs.serverKey))) {
                host = $0.head.authority
                return Response(body: "over IPv6")
            }
            try server.start()
            defer { try? server.stop() }
            let text = try client(certs).get("https://[::1]:\(server.port)/", timeout: .seconds(30)).text
            return (text, host)
        }
        #expect(text == "over IPv6")
        #expect(host?.hasPrefix("[::1]:") == true)
    }

    @Test func aTLSConnectionOverTheLimitIsAnswered503AfterItsHandshake() throws {
        let certs = try TestCertificates.shared()
        let (first, second) = try green { () -> (Int, Int) in
            let server = try startHTTPSServer(
                try .httpServer(certificateChain: .file(certs.server), privateKey: .file(certs.serverKey))
            ) { $0.maxConnections = 1 }
            defer { try? server.stop() }
            let url = "https://localhost:\(server.port)/"
            // The first client keeps its connection open (kept alive in its pool).
            let holder = try client(certs)
            let first = try holder.get(url, timeout: .seconds(30)).status.code
            let second = try client(certs).get(url, timeout: .seconds(30)).status.code
            _ = holder
            return (first, second)
        }
        #expect(first == 200)
        #expect(second == 503)
    }

    /// The error a GET through a client trusting the test CA gives against a server presenting `certificate`.
    func clientError(_ certs: TestCertificates, certificate: String, host: String = "localhost",
                     change: @escaping (inout HTTPClient.Configuration) -> Void = { _ in }) throws -> HTTPClientError? {
        try green { () -> HTTPClientError? in
            let server = try startHTTPSServer(try .httpServer(certificateChain: .file(certificate), privateKey: .file(certs.serverKey)))
            defer { try? server.stop() }
            do {
                _ = try client(certs, change: change).get("https://\(host):\(server.port)/", timeout: .seconds(30))
                return nil
            } catch let e as HTTPClientError {
                return e
            }
        }
    }

    @Test func anExpiredCertificateIsATypedClientError() throws {
        let certs = try TestCertificates.shared()
        #expect(try clientError(certs, certificate: certs.expired) == .tls(.certificateExpired))
    }

    @Test func aCertificateForAnotherHostIsATypedClientError() throws {
        let certs = try TestCertificates.shared()
        #expect(try clientError(certs, certificate: certs.wrongHost) == .tls(.hostnameMismatch(expected: "localhost")))
        #expect(try clientError(certs, certificate: certs.wrongHost, host: "127.0.0.1")
            == .tls(.hostnameMismatch(expected: "127.0.0.1")))
    }

    @Test func anUnknownCAIsATypedClientError() throws {
        let certs = try TestCertificates.shared()
        #expect(try clientError(certs, certificate: certs.otherServer) == .tls(.unknownCA))
        // The default: the system's store, which does not hold the test CA.
        #expect(try clientError(certs, certificate: certs.server) { $0.tls = nil } == .tls(.unknownCA))
    }

    @Test func theInsecureClientAcceptsAnyCertificate() throws {
        let certs = try TestCertificates.shared()
        for certificate in [certs.expired, certs.wrongHost, certs.otherServer] {
            #expect(try clientError(certs, certificate: certificate) {
                $0.tls = try! .insecureClientWithoutVerification(alpn: ["http/1.1"])
            } == nil)
        }
    }

    @Test func httpsToAPlainHTTPServerIsAProtocolError() throws {
        let error = try green { () -> HTTPClientError? in
            var configuration = HTTPServer.Configuration()
            configuration.accessLog = nil
            let server = HTTPServer(host: "127.0.0.1", port: 0, configuration: configuration) { _ in Response() }
            try server.start()
            defer { try? server.stop() }
            do {
                _ = try HTTPClient().get("https://127.0.0.1:\(server.port)/", timeout: .seconds(30))
                return nil
            } catch let e as HTTPClientError {
                return e
            }
        }
        guard case .tls(.protocolError)? = error else {
            Issue.record("expected .tls(.protocolError), got \(String(describing: error))")
            return
        }
    }

    @Test func aServerThatNeverHandshakesIsAHandshakeTimeout() throws {
        let error = try green { () -> HTTPClientError? in
            // Connections complete in the backlog; nobody accepts or answers.
            let listener = try Socket.listening(on: .loopback(port: 0))
            defer { listener.close() }
            var c = HTTPClient.Configuration()
            c.connectTimeout = .milliseconds(200)
            do {
                _ = try HTTPClient(configuration: c).get("https://127.0.0.1:\(try listener.localAddress().port)/",
                                                         timeout: .seconds(60))
                return nil
            } catch let e as HTTPClientError {
                return e
            }
        }
        #expect(error == .tls(.handshakeTimedOut))
    }

    @Test func aBodyCutShortWithoutCloseNotifyIsATruncation() throws {
        let certs = try TestCertificates.shared()
        let (cut, clean) = try green { () -> (HTTPClientError?, String?) in
            // HTTP/1.0 bodies run to the end of the connection: only close_notify says they are whole.
            let server = StreamServer(host: "127.0.0.1", port: 0, tls: try certs.serverConfiguration()) { stream, _ in
                let reader = BufferedReader(stream)
                var path = ""
                while let line = try reader.readLine(timeout: .seconds(30)), !line.isEmpty {
                    if line.hasPrefix("GET ") { path = String(line.split(separator: " ")[1]) }
                }
                try stream.sendAll("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it, or is it")
                if path == "/cut" { stream.socket.close() } else { try stream.shutdown(timeout: .seconds(30)) }
            }
            try server.start()
            defer { try? server.stop() }
            let client = try client(certs)
            var cut: HTTPClientError?
            do { _ = try client.get("https://localhost:\(server.port)/cut", timeout: .seconds(30)) } catch let e as HTTPClientError { cut = e }
            let clean = try client.get("https://localhost:\(server.port)/clean", timeout: .seconds(30)).text
            return (cut, clean)
        }
        #expect(cut == .tls(.truncated))
        #expect(clean == "all of it, or is it")
    }

    // MARK: - Client certificates

    @Test func aServerRequiringClientCertificatesSeesTheClientsSubject() throws {
        let certs = try TestCertificates.shared()
        let seen = Seen()
        let (text, without) = try green { () -> (String, (any Error)?) in
            let tls = try TLSConfiguration.httpServer(
                certificateChain: .file(certs.server), privateKey: .file(certs.serverKey),
                clientCertificates: .required(trusting: .file(certs.ca)))
            let server = try startHTTPSServer(tls, seen: seen)
            defer { try? server.stop() }
            let url = "https://localhost:\(server.port)/"
            let text = try client(certs) {
                $0.tls = try! .httpClient(trust: .certificateAuthorities(.file(certs.ca)),
                                          certificateChain: .file(certs.client), privateKey: .file(certs.clientKey))
            }.get(url, timeout: .seconds(30)).text
            var without: (any Error)?
            do { _ = try client(certs).get(url, timeout: .seconds(30)) } catch { without = error }
            return (text, without)
        }
        #expect(text == "Hello Cruel World!")
        #expect(seen.clientSubjects == ["/CN=green client"])  // the client without a certificate never reached the handler
        // TLS 1.3: the client hears of the refusal when it reads (an alert), unless
        // the server's close overtook it (its request was unread: a reset).
        switch without as? HTTPClientError {
        case .tls(.peerAlert)?, .connectionClosed?: break
        default: Issue.record("expected a refusal, got \(String(describing: without))")
        }
    }

    // MARK: - Stalled handshakes

    @Test func aClientStalledMidHandshakeHoldsNoOtherConnection() throws {
        let certs = try TestCertificates.shared()
        let (text, held) = try green { () -> (String, Int) in
            // A handshake timeout far longer than the test: the stalled client is surely still held below.
            let server = try startHTTPSServer(
                try .httpServer(certificateChain: .file(certs.server), privateKey: .file(certs.serverKey))
            ) { $0.handshakeTimeout = .seconds(120) }
            defer { try? server.stop(timeout: .zero) }
            let stalled = try Socket.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(30))
            defer { stalled.close() }
            try stalled.sendAll([0x16, 0x03, 0x01])  // the first bytes of a ClientHello, and no more
            let client = try client(certs)
            let text = try client.get("https://localhost:\(server.port)/", timeout: .seconds(30)).text
            return (text, server.connectionCount)
        }
        #expect(text == "Hello Cruel World!")
        #expect(held == 2)  // the stalled handshake and the kept-alive client, side by side
    }

    @Test func aClientStalledMidHandshakeIsClosedWhenItsTimeIsUp() throws {
        let certs = try TestCertificates.shared()
        let (end, left) = try green { () -> ([UInt8], Int) in
            let server = try startHTTPSServer(
                try .httpServer(certificateChain: .file(certs.server), privateKey: .file(certs.serverKey))
            ) { $0.handshakeTimeout = .milliseconds(100) }
            defer { try? server.stop(timeout: .zero) }
            let stalled = try Socket.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(30))
            defer { stalled.close() }
            try stalled.sendAll([0x16, 0x03, 0x01])
            let end = try stalled.recv(timeout: .seconds(30))  // the server gives up and closes
            try sleep(.zero)
            return (end, server.connectionCount)
        }
        #expect(end.isEmpty)
        #expect(left == 0)
    }

    // MARK: - The sample

    @Test func helloHTTPSampleServesHTTPS() throws {
        let certs = try TestCertificates.shared()
        let hello = try ChildProcess(builtProduct("HelloHTTP").path,
                                     ["--host", "127.0.0.1", "--port", "0", "--no-access-log",
                                      "--tls-cert", certs.server, "--tls-key", certs.serverKey],
                                     stdout: .pipe, stderr: .null)
        defer {
            if hello.isRunning {
                try? hello.kill(SIGKILL)
                _ = try? hello.waitUntilExit()
            }
        }
        // "Serving on https://127.0.0.1:PORT/"
        let line = try hello.readLine() ?? ""
        #expect(line.hasPrefix("Serving on https://"))
        let port = try #require(Int(line.split(separator: ":").last?.filter(\.isNumber) ?? ""))
        let text = try green { try client(certs).get("https://localhost:\(port)/", timeout: .seconds(30)).text }
        #expect(text == "Hello Cruel World!")
        try hello.kill(SIGTERM)
        #expect(try hello.waitUntilExit() == .exited(0))
    }
}
