import Green
import GreenTLS
import Testing

/// Each failure gives its typed error, on the side that detects it, and the
/// other side hears of it as an alert.
@Suite struct FailureTests {
    /// The handshake's outcome as (client error, server error), descriptions for the log.
    func outcome(
        server: TLSConfiguration, client: TLSConfiguration, serverName: String? = "localhost"
    ) throws -> (client: (any Error)?, server: (any Error)?) {
        try green { () -> ((any Error)?, (any Error)?) in
            let r = try handshakePair(server: server, client: client, serverName: serverName)
            var clientError = r.clientError
            // TLS 1.3: a client learns that the server refused its certificate at its first read.
            if clientError == nil && r.serverError != nil {
                do { _ = try r.client.recv(timeout: .seconds(30)) } catch { clientError = error }
            }
            r.client.close()
            r.server.close()
            return (clientError, r.serverError)
        }
    }

    @Test func anExpiredCertificateIsReportedAsExpired() throws {
        let certs = try TestCertificates.shared()
        let r = try outcome(server: try certs.serverConfiguration(certificate: certs.expired),
                            client: try certs.clientConfiguration())
        #expect(r.client as? TLSError == .certificateExpired)
        #expect(r.server as? TLSError == .peerAlert("certificate expired"))
    }

    @Test func aCertificateForAnotherHostIsAHostnameMismatch() throws {
        let certs = try TestCertificates.shared()
        let r = try outcome(server: try certs.serverConfiguration(certificate: certs.wrongHost),
                            client: try certs.clientConfiguration())
        #expect(r.client as? TLSError == .hostnameMismatch(expected: "localhost"))
        #expect(r.server as? TLSError == .peerAlert("bad certificate"))
    }

    @Test func anAddressTheCertificateDoesNotListIsAHostnameMismatch() throws {
        let certs = try TestCertificates.shared()
        let r = try outcome(server: try certs.serverConfiguration(certificate: certs.wrongHost),
                            client: try certs.clientConfiguration(), serverName: "127.0.0.1")
        #expect(r.client as? TLSError == .hostnameMismatch(expected: "127.0.0.1"))
    }

    @Test func aCertificateFromAnUntrustedCAIsAnUnknownCA() throws {
        let certs = try TestCertificates.shared()
        let r = try outcome(server: try certs.serverConfiguration(certificate: certs.otherServer),
                            client: try certs.clientConfiguration())
        #expect(r.client as? TLSError == .unknownCA)
        #expect(r.server as? TLSError == .peerAlert("unknown CA"))
    }

    @Test func theSystemStoreDoesNotTrustTheTestCA() throws {
        let certs = try TestCertificates.shared()
        let r = try outcome(server: try certs.serverConfiguration(), client: try .client())
        #expect(r.client as? TLSError == .unknownCA)
    }

    @Test func theInsecureClientAcceptsAnything() throws {
        let certs = try TestCertificates.shared()
        for certificate in [certs.expired, certs.wrongHost, certs.otherServer] {
            let r = try outcome(server: try certs.serverConfiguration(certificate: certificate),
                                client: try .insecureClientWithoutVerification(), serverName: nil)
            #expect(r.client == nil)
            #expect(r.server == nil)
        }
    }

    @Test func aServerRequiringClientCertificatesRefusesAClientWithout() throws {
        let certs = try TestCertificates.shared()
        let r = try outcome(
            server: try certs.serverConfiguration(clientCertificates: .required(trusting: .file(certs.ca))),
            client: try certs.clientConfiguration())
        #expect(r.server as? TLSError == .peerCertificateMissing)
        #expect(r.client as? TLSError == .peerAlert("certificate required"))
    }

    @Test func aServerRefusesAClientCertificateFromAnUntrustedCA() throws {
        let certs = try TestCertificates.shared()
        let r = try outcome(
            server: try certs.serverConfiguration(clientCertificates: .optional(trusting: .file(certs.ca))),
            client: try certs.clientConfiguration(certificate: certs.otherClient))
        #expect(r.server as? TLSError == .unknownCA)
        #expect(r.client as? TLSError == .peerAlert("unknown CA"))
    }

    @Test func plainTextOnATLSPortIsAProtocolError() throws {
        let certs = try TestCertificates.shared()
        let error = try green { () -> (any Error)? in
            let listener = try Socket.listening(on: try .loopback(port: 0))
            defer { listener.close() }
            let client = try Socket.connect(to: try listener.localAddress(), timeout: .seconds(30))
            defer { client.close() }
            let (socket, _) = try listener.accept(timeout: .seconds(30))
            let server = try TLSStream(server: socket, configuration: try certs.serverConfiguration())
            defer { server.close() }
            try client.sendAll("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            do { try server.handshake(timeout: .seconds(30)) } catch { return error }
            return nil
        }
        guard case .protocolError(let why)? = error as? TLSError else {
            Issue.record("expected a protocol error, got \(String(describing: error))")
            return
        }
        #expect(why.contains("http request"))
    }

    @Test func aServerThatNeverAnswersIsAHandshakeTimeout() throws {
        let certs = try TestCertificates.shared()
        let error = try green { () -> (any Error)? in
            let listener = try Socket.listening(on: try .loopback(port: 0))
            defer { listener.close() }
            // The kernel completes the TCP connection; nobody ever speaks TLS on it.
            let tls = try TLSStream(client: try Socket.connect(to: try listener.localAddress(), timeout: .seconds(30)),
                                    serverName: "localhost", configuration: try certs.clientConfiguration())
            defer { tls.close() }
            do { try tls.handshake(timeout: .milliseconds(50)) } catch { return error }
            return nil
        }
        #expect(error as? TLSError == .handshakeTimedOut)
    }

    @Test func badConfigurationsAreRefusedWhenBuilt() throws {
        let certs = try TestCertificates.shared()
        #expect(throws: TLSError.self) {
            _ = try TLSConfiguration.server(certificateChain: .file("/nonexistent.pem"), privateKey: .file(certs.serverKey))
        }
        #expect(throws: TLSError.self) {  // the client's key does not match the server's certificate
            _ = try TLSConfiguration.server(certificateChain: .file(certs.server), privateKey: .file(certs.clientKey))
        }
        #expect(throws: TLSError.self) {
            _ = try TLSConfiguration.server(certificateChain: .text("not PEM"), privateKey: .file(certs.serverKey))
        }
        #expect(throws: TLSError.self) {
            _ = try TLSConfiguration.client(alpn: [""])
        }
        // A verifying client must know whom it verifies.
        let error = try green { () -> (any Error)? in
            let (a, b) = try loopbackSockets()
            defer { a.close(); b.close() }
            do { _ = try TLSStream(client: a, serverName: nil, configuration: try certs.clientConfiguration()) } catch { return error }
            return nil
        }
        guard case .invalidConfiguration? = error as? TLSError else {
            Issue.record("expected invalidConfiguration, got \(String(describing: error))")
            return
        }
    }

    @Test func pemTextWorksAsWellAsFiles() throws {
        let certs = try TestCertificates.shared()
        func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
        let server = try TLSConfiguration.server(certificateChain: .text(try read(certs.server)),
                                                 privateKey: .text(try read(certs.serverKey)))
        let client = try TLSConfiguration.client(trust: .certificateAuthorities(.text(try read(certs.ca))))
        let r = try outcome(server: server, client: client)
        #expect(r.client == nil)
        #expect(r.server == nil)
    }
}

/// A connected pair of loopback TCP sockets. Call from green code.
func loopbackSockets() throws -> (Socket, Socket) {
    let listener = try Socket.listening(on: try .loopback(port: 0))
    defer { listener.close() }
    let client = try Socket.connect(to: try listener.localAddress(), timeout: .seconds(30))
    let (server, _) = try listener.accept(timeout: .seconds(30))
    return (client, server)
}
