// The seeds' echo server (gevent's StreamServer + makefile loop), in Swift:
//
//     def connection_handler(socket, address):
//         for l in socket.makefile('r'):
//             socket.sendall(l)
//
// A line longer than --max-line-length bytes (64 KiB by default, the newline
// not counted) is not echoed: the client gets
// "line too long (limit N bytes); dropped\n" and the connection goes on with
// the next line (a reader never holds more than one line, so a client cannot
// make the server buffer without bound).
//
// Run: swift run Echo --port 8000; then: telnet 127.0.0.1 8000
// Over TLS: swift run Echo --tls-cert cert.pem --tls-key key.pem; then:
//           openssl s_client -connect 127.0.0.1:8000
// On every core: swift run Echo --hubs 2 (a listener per hub on one port,
//           SO_REUSEPORT: the kernel spreads connections, no hand-off between hubs)
import ArgumentParser
import Glibc
import Green
import GreenTLS

@main
struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A green echo server: every line comes back.")

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8000

    @Option(help: "The address to listen on (\"\" for every IPv4 interface, \"::\" for every interface).")
    var host: String = ""

    @Option(help: "The longest line echoed, in bytes (the newline not counted).")
    var maxLineLength: Int = 65536

    @Option(help: "Serve TLS with this certificate chain (PEM); needs --tls-key.")
    var tlsCert: String?

    @Option(help: "The private key (PEM) of --tls-cert.")
    var tlsKey: String?

    @Option(help: "Hubs (threads) serving connections, each with its own listener on the port.")
    var hubs = 1

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        guard hubs >= 1 && hubs <= 256 else { throw ValidationError("--hubs must be between 1 and 256") }
    }

    func run() throws {
        let limit = maxLineLength
        let handler = { (socket: any ByteStream) throws in
            let reader = BufferedReader(socket)
            while true {
                do {
                    guard let line = try reader.readLineBytes(maxLength: limit) else { return }
                    try socket.sendAll(line)
                } catch ReaderError.lineTooLong {
                    try socket.sendAll("line too long (limit \(limit) bytes); dropped\n")
                }
            }
        }
        let tls = try tlsCert.map { try TLSConfiguration.server(certificateChain: .file($0), privateKey: .file(tlsKey!)) }
        /// A server on the calling hub, listening on `port` (shared with the other hubs' when several).
        func makeServer(port: Int) throws -> StreamServer {
            let address = try SocketAddress(host: host.isEmpty ? "0.0.0.0" : host, port: port)
            let listener = try Socket.listening(on: address, reusePort: hubs > 1)
            if let tls {
                return StreamServer(listening: listener, tls: tls) { stream, _ in try handler(stream) }
            }
            return StreamServer(listening: listener) { socket, _ in try handler(socket) }
        }
        let runtime = hubs > 1 ? try GreenRuntime(hubs: hubs, includingCallingThread: true) : nil
        defer { runtime?.stop() }
        let server = try makeServer(port: port)
        try server.start()
        let bound = server.address?.port ?? port
        // The other hubs: a server each, on the same port, serving on its own hub.
        var others: [(hub: Hub, server: StreamServer, serving: Greenlet<Void>)] = []
        for i in 1..<hubs {
            let hub = runtime!.hubs[i]
            let s = try hub.call { () -> StreamServer in
                let s = try makeServer(port: bound)
                try s.start()
                return s
            }
            others.append((hub, s, try runtime!.spawn(on: .hub(i)) { try s.serveForever() }))
        }
        print("Echo server listening on \(server.address.map(String.init(describing:)) ?? "?")"
            + "\(tlsCert == nil ? "" : " (TLS)")\(hubs > 1 ? " on \(hubs) hubs" : "")")
        fflush(stdout)
        let stopAll = {
            for other in others { _ = try? other.hub.call { try other.server.stop() } }
            try server.stop()
        }
        let term = onSignal(SIGTERM) { try stopAll() }
        let int = onSignal(SIGINT) { try stopAll() }
        try server.serveForever()
        for other in others { try other.serving.join() }
        term.cancel()
        int.cancel()
    }
}
