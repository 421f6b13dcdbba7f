import Green
import GreenTLS
import Testing

/// Green's TLS client against Green's TLS server.
@Suite struct GreenToGreenTests {
    @Test func linesEchoThroughBufferedReaderAndWriter() throws {
        let certs = try TestCertificates.shared()
        let (replies, version) = try green { () -> ([String], String) in
            let server = try startTLSEchoServer(try certs.serverConfiguration())
            defer { try? server.stop() }
            let tls = try TLSStream.connect(host: "localhost", port: server.port,
                                            configuration: try certs.clientConfiguration(), timeout: .seconds(30))
            defer { tls.close() }
            let writer = BufferedWriter(tls)
            let reader = BufferedReader(tls)
            var replies: [String] = []
            for word in ["hello", "green", "tls"] {
                try writer.writeLine(word)
                try writer.flush()
                replies.append(try reader.readLine(timeout: .seconds(30)) ?? "<end>")
            }
            return (replies, tls.protocolVersion)
        }
        #expect(replies == ["hello", "green", "tls"])
        #expect(version == "TLSv1.3")
    }

    @Test func theFirstSendMakesTheHandshakeWhenNobodyAskedForIt() throws {
        let certs = try TestCertificates.shared()
        let (reply, done, sendAfterShutdown) = try green { () -> (String?, Bool, (any Error)?) in
            let server = try startTLSEchoServer(try certs.serverConfiguration())
            defer { try? server.stop() }
            let socket = try Socket.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(30))
            let tls = try TLSStream(client: socket, serverName: "localhost", configuration: try certs.clientConfiguration())
            defer { tls.close() }
            try tls.sendAll("implicit\n", timeout: .seconds(30))
            let reply = try BufferedReader(tls).readLine(timeout: .seconds(30))
            try tls.shutdown(timeout: .seconds(30))
            var error: (any Error)?
            do { try tls.sendAll("late\n") } catch let e { error = e }
            return (reply, tls.isHandshakeComplete, error)
        }
        #expect(reply == "implicit")
        #expect(done)
        #expect(sendAfterShutdown as? SocketError == .closed)
    }

    @Test func connectsByIPAddressVerifiedAgainstTheCertificatesAddresses() throws {
        let certs = try TestCertificates.shared()
        let reply = try green { () -> String? in
            let server = try startTLSEchoServer(try certs.serverConfiguration())
            defer { try? server.stop() }
            let tls = try TLSStream.connect(host: "127.0.0.1", port: server.port,
                                            configuration: try certs.clientConfiguration(), timeout: .seconds(30))
            defer { tls.close() }
            try tls.sendAll("by address\n")
            return try BufferedReader(tls).readLine(timeout: .seconds(30))
        }
        #expect(reply == "by address")
    }

    @Test func alpnPicksTheServersFirstChoiceTheClientOffers() throws {
        let certs = try TestCertificates.shared()
        let (client, server, sni) = try green { () -> (String?, String?, String?) in
            let r = try handshakePair(server: try certs.serverConfiguration(alpn: ["h2", "http/1.1"]),
                                      client: try certs.clientConfiguration(alpn: ["http/1.1", "h2"]))
            defer { r.client.close(); r.server.close() }
            return (r.client.negotiatedProtocol, r.server.negotiatedProtocol, r.server.requestedServerName)
        }
        #expect(client == "h2")
        #expect(server == "h2")
        #expect(sni == "localhost")
    }

    @Test func noCommonALPNProtocolGoesOnWithout() throws {
        let certs = try TestCertificates.shared()
        let (error, proto) = try green { () -> (String?, String?) in
            let r = try handshakePair(server: try certs.serverConfiguration(alpn: ["h2"]),
                                      client: try certs.clientConfiguration(alpn: ["spdy/3"]))
            defer { r.client.close(); r.server.close() }
            return (r.clientError.map { "\($0)" }, r.client.negotiatedProtocol)
        }
        #expect(error == nil)
        #expect(proto == nil)
    }

    @Test func megabytesBothWaysAtOnce() throws {
        let certs = try TestCertificates.shared()
        let size = 4 << 20
        let (clientGot, serverGot) = try green { () -> (Int, Int) in
            let r = try handshakePair(server: try certs.serverConfiguration(), client: try certs.clientConfiguration())
            defer { r.client.close(); r.server.close() }
            let block = [UInt8](repeating: 0x5a, count: size)
            // Each side writes 4 MiB while reading the other's: neither may wait for the other to read.
            func pump(_ s: TLSStream) -> (Greenlet<Void>, Greenlet<Int>) {
                let writer = spawn {
                    try s.sendAll(block, timeout: .seconds(60))
                    try s.shutdown(timeout: .seconds(60))
                }
                let reader = spawn { () throws -> Int in
                    var total = 0
                    while true {
                        let chunk = try s.recv(maxBytes: 65536, timeout: .seconds(60))
                        if chunk.isEmpty { return total }
                        if chunk.contains(where: { $0 != 0x5a }) { return -1 }
                        total += chunk.count
                    }
                }
                return (writer, reader)
            }
            let (cw, cr) = pump(r.client), (sw, sr) = pump(r.server)
            try cw.get()
            try sw.get()
            return (try cr.get(), try sr.get())
        }
        #expect(clientGot == size)
        #expect(serverGot == size)
    }

    @Test func closeSendsCloseNotifyAndThePeerReadsACleanEnd() throws {
        let certs = try TestCertificates.shared()
        let (last, again) = try green { () -> ([UInt8], [UInt8]) in
            let r = try handshakePair(server: try certs.serverConfiguration(), client: try certs.clientConfiguration())
            defer { r.client.close() }
            try r.server.sendAll("bye\n")
            r.server.close()
            let reader = BufferedReader(r.client)
            _ = try reader.readLine(timeout: .seconds(30))
            return (try reader.read(timeout: .seconds(30)), try r.client.recv(timeout: .seconds(30)))
        }
        #expect(last.isEmpty)
        #expect(again.isEmpty)
    }

    @Test func closeNotifyOnAnOpenConnectionEndsTheStreamAndRepliesStillGo() throws {
        let certs = try TestCertificates.shared()
        let (line, end, again, reply) = try green { () -> (String?, Int, Int, String?) in
            let r = try handshakePair(server: try certs.serverConfiguration(), client: try certs.clientConfiguration())
            defer { r.client.close(); r.server.close() }
            try r.server.sendAll("last words\n")
            try r.server.shutdown(timeout: .seconds(30))  // close_notify; the TCP connection stays open
            let reader = BufferedReader(r.client)
            let line = try reader.readLine(timeout: .seconds(30))
            let end = try reader.read(timeout: .seconds(30)).count
            let again = try r.client.recv(timeout: .seconds(30)).count
            // Half-closed: the client may still answer, the server still read.
            try r.client.sendAll("answer\n")
            return (line, end, again, try BufferedReader(r.server).readLine(timeout: .seconds(30)))
        }
        #expect(line == "last words")
        #expect(end == 0)
        #expect(again == 0)
        #expect(reply == "answer")
    }

    @Test func aPeerClosingWithoutCloseNotifyIsATruncation() throws {
        let certs = try TestCertificates.shared()
        let (error, first) = try green { () -> ((any Error)?, String?) in
            let r = try handshakePair(server: try certs.serverConfiguration(), client: try certs.clientConfiguration())
            defer { r.client.close() }
            try r.server.sendAll("partial\n")
            r.server.socket.close()  // no close_notify: as a crash, or an attacker cutting the line
            let reader = BufferedReader(r.client)
            let first = try reader.readLine(timeout: .seconds(30))
            do {
                _ = try reader.readLine(timeout: .seconds(30))
                return (nil, first)
            } catch {
                return (error, first)
            }
        }
        #expect(first == "partial")
        #expect(error as? TLSError == .truncated)
    }

    @Test func truncationEndsALinesLoopWithTheErrorKept() throws {
        let certs = try TestCertificates.shared()
        let (lines, error) = try green { () -> ([String], (any Error)?) in
            let r = try handshakePair(server: try certs.serverConfiguration(), client: try certs.clientConfiguration())
            defer { r.client.close() }
            try r.server.sendAll("one\ntwo\n")
            r.server.socket.close()
            let reader = BufferedReader(r.client)
            var lines: [String] = []
            for line in reader.lines(timeout: .seconds(30)) { lines.append(line) }
            // The loop ended on the stream's own error, not an injected one: nothing is re-armed.
            try sleep(.zero)
            return (lines, reader.error)
        }
        #expect(lines == ["one", "two"])
        #expect(error as? TLSError == .truncated)
    }

    @Test func mutualTLSShowsTheClientsCertificateToTheServer() throws {
        let certs = try TestCertificates.shared()
        let (serverError, subject) = try green { () -> ((any Error)?, String?) in
            let r = try handshakePair(
                server: try certs.serverConfiguration(clientCertificates: .required(trusting: .file(certs.ca))),
                client: try certs.clientConfiguration(certificate: certs.client))
            defer { r.client.close(); r.server.close() }
            return (r.serverError, r.server.peerCertificateSubject)
        }
        #expect(serverError == nil)
        #expect(subject == "/CN=green client")
    }

    @Test func aRecvTimeoutLeavesTheStreamUsable() throws {
        let certs = try TestCertificates.shared()
        let (first, later) = try green { () -> ((any Error)?, String?) in
            let r = try handshakePair(server: try certs.serverConfiguration(), client: try certs.clientConfiguration())
            defer { r.client.close(); r.server.close() }
            var first: (any Error)?
            do { _ = try r.client.recv(timeout: .milliseconds(10)) } catch { first = error }
            try r.server.sendAll("still here\n")
            return (first, try BufferedReader(r.client).readLine(timeout: .seconds(30)))
        }
        #expect(first as? SocketError == .timedOut)
        #expect(later == "still here")
    }

    @Test func closingWakesAGreenletWaitingToRead() throws {
        let certs = try TestCertificates.shared()
        let error = try green { () -> (any Error)? in
            let r = try handshakePair(server: try certs.serverConfiguration(), client: try certs.clientConfiguration())
            defer { r.server.close() }
            let reader = spawn { _ = try r.client.recv(timeout: .seconds(30)) }
            try sleep(.zero)  // let it park
            r.client.close()
            try reader.join()
            return reader.error
        }
        #expect(error as? SocketError == .closed)
    }
}
