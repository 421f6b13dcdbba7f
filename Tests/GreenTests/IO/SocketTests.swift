import Glibc
import Green
import Testing

@Suite struct IOSocketTests {
    @Test func manyClientsConnectTalkAndDisconnect() throws {
        let (replies, left) = try green { () -> (Int, Int) in
            let server = try startEchoServer()
            let port = server.port
            var replies = 0
            let clients = (0..<200).map { i in
                spawn {
                    let s = try Socket.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
                    defer { s.close() }
                    let reader = BufferedReader(s)
                    for j in 0..<20 {
                        let line = "client \(i) line \(j)\n"
                        try s.sendAll(line, timeout: .seconds(10))
                        let back = try reader.readLineBytes(timeout: .seconds(10))
                        #expect(back?.text == line)
                        replies += 1
                    }
                }
            }
            try joinAll(clients)
            for c in clients { #expect(c.error == nil) }
            // Handlers end when their clients' end of stream arrives.
            while server.connectionCount > 0 { try sleep(.milliseconds(1)) }
            let left = server.connectionCount
            try server.stop()
            return (replies, left)
        }
        #expect(replies == 200 * 20)
        #expect(left == 0)
    }

    @Test func ipv6LoopbackWorks() throws {
        let back = try green { () -> String? in
            guard (try? Socket.listening(on: .loopback(.ipv6, port: 0))) != nil else { return "hi\n" }  // no IPv6 here
            let server = StreamServer(host: "::1", port: 0) { socket, peer in
                #expect(peer.family == .ipv6)
                for line in BufferedReader(socket).byteLines { try socket.sendAll(line) }
            }
            try server.start()
            #expect(server.address?.family == .ipv6)
            let s = try Socket.connect(host: "::1", port: server.port, timeout: .seconds(10))
            try s.sendAll("hi\n")
            let line = try BufferedReader(s).readLine(timeout: .seconds(10))
            s.close()
            try server.stop()
            return line.map { $0 + "\n" }
        }
        #expect(back == "hi\n")
    }

    @Test func refusedConnectionIsTyped() throws {
        try green { () throws -> Void in
            let port = try closedPort()
            #expect(throws: SocketError.connectionRefused) {
                _ = try Socket.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
            }
        }
    }

    @Test func receiveTimeoutIsTypedAndKeepsTheSocketUsable() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            #expect(throws: SocketError.timedOut) { _ = try a.recv(timeout: .milliseconds(20)) }
            try b.sendAll("late")
            #expect(try a.recv(timeout: .seconds(10)).text == "late")
            #expect(throws: GreenError.negativeTimeout(.seconds(-1))) { _ = try a.recv(timeout: .seconds(-1)) }
            a.close(); b.close()
        }
    }

    @Test func endOfStreamReadsEmpty() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            try b.sendAll("last")
            try b.shutdown(.write)
            #expect(try a.recv(timeout: .seconds(10)).text == "last")
            #expect(try a.recv(timeout: .seconds(10)).isEmpty)
            a.close(); b.close()
        }
    }

    @Test func resetIsTyped() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            var lg = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(b.fd, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
            b.close()  // RST
            #expect(throws: SocketError.connectionReset) { _ = try a.recv(timeout: .seconds(10)) }
            a.close()
        }
    }

    @Test func writingToAClosedPeerFailsWithoutSIGPIPE() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            b.close()
            let chunk = [UInt8](repeating: 1, count: 65536)
            var failure: SocketError?
            for _ in 0..<1000 {
                do { try a.sendAll(chunk, timeout: .seconds(10)) } catch let e as SocketError { failure = e; break }
            }
            #expect(failure == .brokenPipe || failure == .connectionReset)
            a.close()
        }
    }

    @Test func closeWakesAGreenletWaitingOnTheSocket() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            let waiter = spawn { () -> String in
                do {
                    _ = try a.recv()
                    return "returned"
                } catch let e as SocketError {
                    return "\(e)"
                }
            }
            try yieldGreenlet()
            a.close()
            #expect(try waiter.get() == "\(SocketError.closed)")
            #expect(throws: SocketError.closed) { _ = try a.recv() }
            b.close()
        }
    }

    @Test func twoReadersOnOneSocketIsAnError() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            let first = spawn { _ = try a.recv() }
            try yieldGreenlet()
            #expect(throws: SocketError.concurrentUse) { _ = try a.recv() }
            try first.kill()
            a.close(); b.close()
        }
    }

    @Test func killInterruptsABlockedReceive() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            let g = spawn { _ = try a.recv() }
            try yieldGreenlet()
            try g.kill()
            #expect(g.isDead)
            // The watcher was stopped: the socket is usable again.
            try b.sendAll("x")
            #expect(try a.recv(timeout: .seconds(10)).text == "x")
            a.close(); b.close()
        }
    }

    @Test func datagramsBothWays() throws {
        try green { () throws -> Void in
            let server = DatagramServer(host: "127.0.0.1", port: 0) { data, peer, server in
                _ = try server.sendTo(Array(data.reversed()), address: peer)
            }
            try server.start()
            let client = try Socket(family: .ipv4, kind: .datagram)
            _ = try client.sendTo(Array("abc".utf8), address: .loopback(port: server.port))
            let (reply, from) = try client.recvFrom(timeout: .seconds(10))
            #expect(reply.text == "cba")
            #expect(from.port == server.port)
            client.close()
            try server.stop()
        }
    }

    @Test func addressesParseAndPrint() throws {
        let v4 = try SocketAddress(host: "127.0.0.1", port: 80)
        #expect(v4.description == "127.0.0.1:80")
        let v6 = try SocketAddress(host: "[::1]", port: 8080)
        #expect(v6.description == "[::1]:8080" && v6.family == .ipv6 && v6.port == 8080)
        #expect(throws: SocketError.invalidAddress("nope")) { _ = try SocketAddress(host: "nope", port: 1) }
        #expect(v4.withPort(81).port == 81)
    }

    @Test func resolverResolvesNamesOffTheHub() throws {
        let found = try green { try Resolver.resolve(host: "localhost", port: 7) }
        #expect(!found.isEmpty)
        #expect(found.allSatisfy { $0.port == 7 && ($0.host == "127.0.0.1" || $0.host == "::1") })
    }
}
