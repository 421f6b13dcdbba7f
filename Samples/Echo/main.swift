// The seeds' echo server (gevent's StreamServer + makefile loop), in Swift:
//
//     def connection_handler(socket, address):
//         for l in socket.makefile('r'):
//             socket.sendall(l)
//
// Run: swift run Echo --port 8000; then: telnet 127.0.0.1 8000
// Over TLS: swift run Echo --tls-cert cert.pem --tls-key key.pem; then:
//           openssl s_client -connect 127.0.0.1:8000
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

    @Option(help: "Serve TLS with this certificate chain (PEM); needs --tls-key.")
    var tlsCert: String?

    @Option(help: "The private key (PEM) of --tls-cert.")
    var tlsKey: String?

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() throws {
        let handler = { (socket: any ByteStream) throws in
            let reader = BufferedReader(socket)
            for line in reader.byteLines {
                try socket.sendAll(line)
            }
        }
        let server: StreamServer
        if let tlsCert, let tlsKey {
            let tls = try TLSConfiguration.server(certificateChain: .file(tlsCert), privateKey: .file(tlsKey))
            server = StreamServer(host: host, port: port, tls: tls) { stream, _ in try handler(stream) }
        } else {
            server = StreamServer(host: host, port: port) { socket, _ in try handler(socket) }
        }
        try server.start()
        print("Echo server listening on \(server.address.map(String.init(describing:)) ?? "?")\(tlsCert == nil ? "" : " (TLS)")")
        fflush(stdout)
        let term = onSignal(SIGTERM) { try server.stop() }
        let int = onSignal(SIGINT) { try server.stop() }
        try server.serveForever()
        term.cancel()
        int.cancel()
    }
}
