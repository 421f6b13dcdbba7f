import Foundation
import Green
import GreenTLS
import GreenTestSupport
import Testing

/// `StreamServer(tls:)`: a greenlet per connection makes the handshake.
@Suite struct TLSServerTests {
    @Test func aClientStalledMidHandshakeHoldsNobodyElse() throws {
        let certs = try TestCertificates.shared()
        let (reply, held) = try green { () -> (String?, Int) in
            // A handshake timeout far longer than the test: the stalled client is surely still held below.
            let server = try startTLSEchoServer(try certs.serverConfiguration(), handshakeTimeout: .seconds(120))
            defer { try? server.stop(timeout: .zero) }
            let stalled = try Socket.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(30))
            defer { stalled.close() }
            try stalled.sendAll([0x16, 0x03, 0x01])  // the first bytes of a ClientHello, and no more
            let tls = try TLSStream.connect(host: "localhost", port: server.port,
                                            configuration: try certs.clientConfiguration(), timeout: .seconds(30))
            defer { tls.close() }
            try tls.sendAll("not held up\n")
            let reply = try BufferedReader(tls).readLine(timeout: .seconds(30))
            return (reply, server.connectionCount)
        }
        #expect(reply == "not held up")
        #expect(held == 2)  // the stalled handshake and the served client, side by side
    }

    @Test func aClientStalledMidHandshakeIsDroppedWhenItsTimeIsUp() throws {
        let certs = try TestCertificates.shared()
        let (end, left) = try green { () -> ([UInt8], Int) in
            let server = try startTLSEchoServer(try certs.serverConfiguration(), handshakeTimeout: .milliseconds(100))
            defer { try? server.stop(timeout: .zero) }
            let stalled = try Socket.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(30))
            defer { stalled.close() }
            try stalled.sendAll([0x16, 0x03, 0x01])
            // The server gives up and closes: end of stream here.
            let end = try stalled.recv(timeout: .seconds(30))
            try sleep(.zero)
            return (end, server.connectionCount)
        }
        #expect(end.isEmpty)
        #expect(left == 0)
    }

    @Test func echoSampleServesTLS() throws {
        let certs = try TestCertificates.shared()
        let echo = try ChildProcess(builtProduct("Echo").path,
                                    ["--host", "127.0.0.1", "--port", "0", "--tls-cert", certs.server, "--tls-key", certs.serverKey],
                                    stdout: .pipe)
        defer {
            try? echo.terminate()
            _ = try? echo.waitUntilExit()
        }
        // "Echo server listening on 127.0.0.1:PORT (TLS)"
        let banner = try echo.readLine() ?? ""
        let words = banner.split(separator: " ")
        let port = try #require(words.compactMap { $0.split(separator: ":").last.flatMap { Int($0) } }.first)
        let reply = try green { () -> String? in
            let tls = try TLSStream.connect(host: "localhost", port: port,
                                            configuration: try certs.clientConfiguration(), timeout: .seconds(30))
            defer { tls.close() }
            try tls.sendAll("echo over tls\n")
            return try BufferedReader(tls).readLine(timeout: .seconds(30))
        }
        #expect(reply == "echo over tls")
    }
}

/// The path of a product built next to the test bundle.
func builtProduct(_ name: String) -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent(name)
}
