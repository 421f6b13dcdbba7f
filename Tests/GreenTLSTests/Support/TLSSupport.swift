import Foundation
import Green
import GreenTLS
import GreenTestSupport

/// Runs green code on a thread of its own (Swift Testing calls tests on the
/// cooperative pool, which a hub must not hold).
func green<T>(_ body: @escaping () throws -> T) throws -> T {
    try runInNewThread(body)
}

extension TestCertificates {
    /// A server configuration presenting `certificate` (default: the good one) with the server key.
    func serverConfiguration(
        certificate: String? = nil, clientCertificates: TLSConfiguration.ClientCertificates = .none, alpn: [String] = []
    ) throws -> TLSConfiguration {
        try .server(certificateChain: .file(certificate ?? server), privateKey: .file(serverKey),
                    clientCertificates: clientCertificates, alpn: alpn)
    }

    /// A client configuration trusting only the test CA.
    func clientConfiguration(certificate: String? = nil, alpn: [String] = []) throws -> TLSConfiguration {
        try .client(trust: .certificateAuthorities(.file(ca)), certificateChain: certificate.map { .file($0) },
                    privateKey: certificate == nil ? nil : .file(clientKey), alpn: alpn)
    }
}

/// The two ends of a TLS session over loopback, and how each handshake ended.
struct HandshakeOutcome {
    let client: TLSStream
    let server: TLSStream
    let clientError: (any Error)?
    let serverError: (any Error)?
}

/// Connects a client and a server session over loopback and handshakes both
/// at once (the server in a greenlet). Call from green code.
func handshakePair(
    server serverTLS: TLSConfiguration, client clientTLS: TLSConfiguration,
    serverName: String? = "localhost", family: SocketAddress.Family = .ipv4
) throws -> HandshakeOutcome {
    let listener = try Socket.listening(on: try .loopback(family, port: 0))
    defer { listener.close() }
    let accepting = spawn { () throws -> TLSStream in
        let (socket, _) = try listener.accept(timeout: .seconds(30))
        return try TLSStream(server: socket, configuration: serverTLS)
    }
    let socket = try Socket.connect(to: try listener.localAddress(), timeout: .seconds(30))
    let client = try TLSStream(client: socket, serverName: serverName, configuration: clientTLS)
    let server = try accepting.get()
    let serverSide = spawn { try server.handshake(timeout: .seconds(30)) }
    var clientError: (any Error)?
    do { try client.handshake(timeout: .seconds(30)) } catch { clientError = error }
    // A failed client closes, so the server's handshake ends too.
    if clientError != nil { client.close() }
    try serverSide.join()
    if serverSide.error != nil { server.close() }
    return HandshakeOutcome(client: client, server: server, clientError: clientError, serverError: serverSide.error)
}

/// A line-echo TLS server on an ephemeral loopback port, started. Call from green code.
func startTLSEchoServer(_ tls: TLSConfiguration, handshakeTimeout: Duration = .seconds(30)) throws -> StreamServer {
    let server = StreamServer(host: "127.0.0.1", port: 0, tls: tls, handshakeTimeout: handshakeTimeout) { stream, _ in
        let reader = BufferedReader(stream)
        for line in reader.byteLines { try stream.sendAll(line) }
    }
    try server.start()
    return server
}

/// A program running in the background (openssl s_server), its stdout read line by line.
final class BackgroundTool {
    let process: ChildProcess

    /// Starts `name` (found on PATH) with `args`. Never switches.
    init(_ name: String, _ args: [String]) throws {
        process = try ChildProcess("/usr/bin/env", [name] + args, stdin: .pipe, stdout: .pipe, stderr: .null)
    }

    /// The next line of its stdout, read on a pool thread while the greenlet waits; nil at its end.
    func readLine() throws -> String? {
        let p = process
        return try ThreadPool.shared.run(timeout: .seconds(60)) { try p.readLine() }
    }

    /// Ends it (SIGTERM) and waits for it on a pool thread.
    func stop() throws {
        try process.terminate()
        let p = process
        _ = try ThreadPool.shared.run(timeout: .seconds(60)) { try p.waitUntilExit() }
    }
}

/// Runs a command to its end on a pool thread while the greenlet waits.
func runToolGreen(_ name: String, _ args: [String], stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    try ThreadPool.shared.run(timeout: .seconds(60)) { try runTool(name, args, stdin: stdin) }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
