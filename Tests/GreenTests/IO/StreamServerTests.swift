import Glibc
import Green
import Testing

@Suite struct IOStreamServerTests {
    @Test func stopWithConnectionsOpenEndsThemAll() throws {
        let (served, eofs, left) = try green { () -> (Int, Int, Int) in
            var served = 0
            let server = StreamServer(host: "127.0.0.1", port: 0) { socket, _ in
                served += 1
                _ = try socket.recv()  // blocks until killed by stop
            }
            try server.start()
            let clients = try (0..<50).map { _ in try Socket.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(10)) }
            while served < 50 { try sleep(.milliseconds(1)) }
            let port = server.port
            try server.stop(timeout: .milliseconds(50))
            var eofs = 0
            for c in clients {
                if (try? c.recv(timeout: .seconds(10)))?.isEmpty == true { eofs += 1 }
                c.close()
            }
            // No longer accepting.
            #expect(throws: SocketError.connectionRefused) {
                _ = try Socket.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
            }
            return (served, eofs, server.connectionCount)
        }
        #expect(served == 50)
        #expect(eofs == 50)
        #expect(left == 0)
    }

    @Test func stopLetsRunningHandlersFinishWithinTheGracePeriod() throws {
        let reply = try green { () -> String? in
            let greeted = Event()
            let server = StreamServer(host: "127.0.0.1", port: 0) { socket, _ in
                let reader = BufferedReader(socket)
                _ = try reader.readLine()
                greeted.set()
                try sleep(.milliseconds(20))
                try socket.sendAll("goodbye\n")
            }
            try server.start()
            let port = server.port
            let c = try Socket.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
            try c.sendAll("hi\n")
            try greeted.wait()  // the handler is running when the stop begins
            let stopper = spawn { try server.stop(timeout: .seconds(30)) }
            let r = try BufferedReader(c).readLine(timeout: .seconds(10))
            try stopper.join()
            c.close()
            return r
        }
        #expect(reply == "goodbye")
    }

    @Test func serveForeverReturnsAfterStop() throws {
        try green { () throws -> Void in
            let server = try startEchoServer()
            spawn { try sleep(.milliseconds(5)); try server.stop() }
            try server.serveForever()
            #expect(server.isStopped)
        }
    }

    @Test func connectionLimitIsKept() throws {
        let (most, served) = try green { () -> (Int, Int) in
            var running = 0, most = 0, served = 0
            let server = StreamServer(host: "127.0.0.1", port: 0, maxConnections: 2) { socket, _ in
                running += 1
                most = max(most, running)
                defer { running -= 1 }
                served += 1
                for line in BufferedReader(socket).byteLines { try socket.sendAll(line) }
            }
            try server.start()
            let port = server.port
            let clients = (0..<6).map { i in
                spawn {
                    let s = try Socket.connect(host: "127.0.0.1", port: port, timeout: .seconds(10))
                    try s.sendAll("c\(i)\n")
                    let back = try BufferedReader(s).readLine(timeout: .seconds(10))
                    #expect(back == "c\(i)")
                    try sleep(.milliseconds(2))
                    s.close()
                }
            }
            try joinAll(clients)
            for c in clients { #expect(c.error == nil) }
            try server.stop()
            return (most, served)
        }
        #expect(most == 2)
        #expect(served == 6)
    }
}
