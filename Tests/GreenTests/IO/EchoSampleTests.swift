import Glibc
import Green
import Testing

/// The Echo sample as a real process: long lines, and running out of descriptors.
@Suite struct EchoSampleTests {
    @Test func aLineOverTheLimitIsAnsweredAndTheConnectionGoesOn() throws {
        let echo = try ServerProcess("Echo", ["--host", "127.0.0.1", "--port", "0"])
        #expect(echo.port > 0)
        let lines = try green { () -> [String?] in
            let s = try Socket.connect(host: "127.0.0.1", port: echo.port, timeout: .seconds(10))
            defer { s.close() }
            try s.sendAll(String(repeating: "x", count: 70_000) + "\nnext\n", timeout: .seconds(30))
            let reader = BufferedReader(s)
            return [try reader.readLine(timeout: .seconds(30)), try reader.readLine(timeout: .seconds(30))]
        }
        #expect(lines == ["line too long (limit 65536 bytes); dropped", "next"])
        let end = echo.terminate()
        #expect(end.reason == .exit && end.status == 0, "stderr: \(end.stderr)")
    }

    /// Out of descriptors, the accept loop says so once, waits, and says when it recovers.
    @Test func runningOutOfDescriptorsIsLoggedOnceAndTheRecoveryToo() throws {
        raiseFileLimit(to: 4096)
        let echo = try ServerProcess("Echo", ["--host", "127.0.0.1", "--port", "0"], openFileLimit: 48)
        #expect(echo.port > 0)
        let (early, replies) = try green { () -> (String, [String?]) in
            // More connections than the server has descriptors: the rest wait in its backlog.
            var clients: [Socket] = []
            for _ in 0..<80 {
                clients.append(try Socket.connect(host: "127.0.0.1", port: echo.port, timeout: .seconds(10)))
            }
            let early = try readUntil(echo.stderrFD, contains: "accept failed")
            // Stay out of descriptors a while: a server that logs every retry would log many lines.
            try sleep(.seconds(1))
            for c in clients { c.close() }
            // Descriptors free up: a new connection is served.
            var replies: [String?] = []
            let s = try Socket.connect(host: "127.0.0.1", port: echo.port, timeout: .seconds(10))
            try s.sendAll("ping\n", timeout: .seconds(10))
            replies.append(try BufferedReader(s).readLine(timeout: .seconds(30)))
            s.close()
            return (early, replies)
        }
        #expect(replies == ["ping"])
        let end = echo.terminate()
        #expect(end.reason == .exit && end.status == 0)
        let log = (early + end.stderr).split(separator: "\n")
        #expect(log.filter { $0.contains("accept failed") }.count == 1, "log:\n\(log.joined(separator: "\n"))")
        #expect(log.filter { $0.contains("accept still failing") }.isEmpty)
        let recovered = log.filter { $0.contains("accepting again") }
        #expect(recovered.count == 1 && recovered.first?.contains("failed attempts") == true, "log:\n\(log.joined(separator: "\n"))")
    }
}
