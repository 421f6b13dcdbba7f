import Green
import GreenTLS
import Testing

/// Green against OpenSSL's own tools and curl.
@Suite struct RealPeerTests {
    /// A server that answers one line and closes (with close_notify): what `openssl s_client -quiet` waits for.
    func startOneLineServer(_ tls: TLSConfiguration, seen: @escaping (TLSStream) -> Void = { _ in }) throws -> StreamServer {
        let server = StreamServer(host: "127.0.0.1", port: 0, tls: tls) { stream, _ in
            seen(stream)
            if let line = try BufferedReader(stream).readLine(timeout: .seconds(30)) {
                try stream.sendAll("green says: \(line)\n")
            }
            try stream.shutdown(timeout: .seconds(30))
        }
        try server.start()
        return server
    }

    @Test func greenServerAgainstOpenSSLSClient() throws {
        let certs = try TestCertificates.shared()
        let (result, version) = try green { () -> ((status: Int32, stdout: String, stderr: String), String?) in
            var version: String?
            let server = try startOneLineServer(try certs.serverConfiguration()) { version = $0.protocolVersion }
            defer { try? server.stop() }
            let r = try runToolGreen("openssl", [
                "s_client", "-quiet", "-connect", "127.0.0.1:\(server.port)", "-CAfile", certs.ca,
                "-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost",
            ], stdin: "hello from s_client\n")
            return (r, version)
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "green says: hello from s_client\n")
        #expect(version == "TLSv1.3")
    }

    @Test func greenServerSpeaksTLS12ToOpenSSLSClient() throws {
        let certs = try TestCertificates.shared()
        let (result, version, cipher) = try green { () -> ((status: Int32, stdout: String, stderr: String), String?, String?) in
            var version: String?, cipher: String?
            let server = try startOneLineServer(try certs.serverConfiguration()) {
                version = $0.protocolVersion
                cipher = $0.cipherSuite
            }
            defer { try? server.stop() }
            let r = try runToolGreen("openssl", [
                "s_client", "-quiet", "-tls1_2", "-connect", "127.0.0.1:\(server.port)", "-CAfile", certs.ca,
                "-verify_return_error",
            ], stdin: "twelve\n")
            return (r, version, cipher)
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "green says: twelve\n")
        #expect(version == "TLSv1.2")
        #expect(cipher?.hasPrefix("ECDHE-ECDSA-") == true)
    }

    @Test func greenServerRefusesTLS11() throws {
        let certs = try TestCertificates.shared()
        let (status, error) = try green { () -> (Int32, (any Error)?) in
            let listener = try Socket.listening(on: try .loopback(port: 0))
            defer { listener.close() }
            let port = try listener.localAddress().port
            let client = spawn {
                try runToolGreen("openssl", [
                    "s_client", "-quiet", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-connect", "127.0.0.1:\(port)",
                ], stdin: "old\n").status
            }
            let (socket, _) = try listener.accept(timeout: .seconds(30))
            let server = try TLSStream(server: socket, configuration: try certs.serverConfiguration())
            var error: (any Error)?
            do { try server.handshake(timeout: .seconds(30)) } catch let e { error = e }
            server.close()
            return (try client.get(), error)
        }
        #expect(status != 0)
        #expect(error as? TLSError == .protocolError("unsupported protocol"))
    }

    @Test func greenServerRefusesRenegotiation() throws {
        let certs = try TestCertificates.shared()
        let result = try green { () -> (status: Int32, stdout: String, stderr: String) in
            let server = try startTLSEchoServer(try certs.serverConfiguration())
            defer { try? server.stop() }
            // s_client renegotiates (TLS 1.2) when it reads "R" on a line of its own.
            return try runToolGreen("openssl", [
                "s_client", "-tls1_2", "-connect", "127.0.0.1:\(server.port)", "-CAfile", certs.ca,
            ], stdin: "R\n")
        }
        #expect((result.stdout + result.stderr).contains("RENEGOTIATING"))
        #expect((result.stdout + result.stderr).contains("no renegotiation"))
    }

    @Test func curlFetchesFromAGreenHTTPSServer() throws {
        let certs = try TestCertificates.shared()
        let (result, alpn, sni) = try green { () -> ((status: Int32, stdout: String, stderr: String), String?, String?) in
            var alpn: String?, sni: String?
            let tls = try certs.serverConfiguration(alpn: ["http/1.1"])
            let server = StreamServer(host: "127.0.0.1", port: 0, tls: tls) { stream, _ in
                alpn = stream.negotiatedProtocol
                sni = stream.requestedServerName
                let reader = BufferedReader(stream)
                while let line = try reader.readLine(timeout: .seconds(30)), !line.isEmpty {}
                let writer = BufferedWriter(stream)
                try writer.write("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello, curl\n")
                try writer.flush()
            }
            try server.start()
            defer { try? server.stop() }
            let port = server.port
            let r = try runToolGreen("curl", [
                "-sS", "--max-time", "30", "--cacert", certs.ca, "--resolve", "localhost:\(port):127.0.0.1",
                "https://localhost:\(port)/",
            ])
            return (r, alpn, sni)
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "hello, curl\n")
        #expect(alpn == "http/1.1")
        #expect(sni == "localhost")
    }

    @Test func curlRefusesAGreenServerWithAnExpiredCertificate() throws {
        let certs = try TestCertificates.shared()
        let result = try green { () -> (status: Int32, stdout: String, stderr: String) in
            let server = try startOneLineServer(try certs.serverConfiguration(certificate: certs.expired))
            defer { try? server.stop() }
            let port = server.port
            return try runToolGreen("curl", [
                "-sS", "--max-time", "30", "--cacert", certs.ca, "--resolve", "localhost:\(port):127.0.0.1",
                "https://localhost:\(port)/",
            ])
        }
        #expect(result.status == 60, "\(result.stderr)")  // curl: the peer's certificate cannot be authenticated
        #expect(result.stderr.contains("expired"))
    }

    @Test func greenClientAgainstOpenSSLSServer() throws {
        let certs = try TestCertificates.shared()
        let (reply, alpn) = try green { () -> (String?, String?) in
            let tool = try BackgroundTool("openssl", [
                "s_server", "-rev", "-accept", "127.0.0.1:0", "-naccept", "1",
                "-cert", certs.server, "-key", certs.serverKey, "-alpn", "h2,http/1.1",
            ])
            defer { try? tool.stop() }
            // It says "ACCEPT 127.0.0.1:PORT" once it listens.
            var port = 0
            while let line = try tool.readLine() {
                if line.hasPrefix("ACCEPT"), let p = line.split(separator: ":").last.flatMap({ Int($0) }) {
                    port = p
                    break
                }
            }
            let tls = try TLSStream.connect(host: "localhost", port: port,
                                            configuration: try certs.clientConfiguration(alpn: ["http/1.1"]),
                                            timeout: .seconds(30))
            defer { tls.close() }
            try tls.sendAll("green client\n")
            return (try BufferedReader(tls).readLine(timeout: .seconds(30)), tls.negotiatedProtocol)
        }
        #expect(reply == "tneilc neerg")
        #expect(alpn == "http/1.1")
    }

    @Test func greenClientRefusesOpenSSLSServerWithTheWrongCertificate() throws {
        let certs = try TestCertificates.shared()
        let error = try green { () -> (any Error)? in
            let tool = try BackgroundTool("openssl", [
                "s_server", "-rev", "-accept", "127.0.0.1:0", "-naccept", "1",
                "-cert", certs.wrongHost, "-key", certs.serverKey,
            ])
            defer { try? tool.stop() }
            var port = 0
            while let line = try tool.readLine() {
                if line.hasPrefix("ACCEPT"), let p = line.split(separator: ":").last.flatMap({ Int($0) }) {
                    port = p
                    break
                }
            }
            do {
                let tls = try TLSStream.connect(host: "localhost", port: port,
                                                configuration: try certs.clientConfiguration(), timeout: .seconds(30))
                tls.close()
                return nil
            } catch {
                return error
            }
        }
        #expect(error as? TLSError == .hostnameMismatch(expected: "localhost"))
    }
}
