// The seeds' echo server (gevent's StreamServer + makefile loop), in Swift:
//
//     def connection_handler(socket, address):
//         for l in socket.makefile('r'):
//             socket.sendall(l)
//
// Run: swift run Echo --port 8000; then: telnet 127.0.0.1 8000
import ArgumentParser
import Glibc
import Green

@main
struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A green echo server: every line comes back.")

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8000

    @Option(help: "The address to listen on (\"\" for every IPv4 interface, \"::\" for every interface).")
    var host: String = ""

    func run() throws {
        let server = StreamServer(host: host, port: port) { socket, _ in
            let reader = BufferedReader(socket)
            for line in reader.byteLines {
                try socket.sendAll(line)
            }
        }
        try server.start()
        print("Echo server listening on \(server.address.map(String.init(describing:)) ?? "?")")
        fflush(stdout)
        let term = onSignal(SIGTERM) { try server.stop() }
        let int = onSignal(SIGINT) { try server.stop() }
        try server.serveForever()
        term.cancel()
        int.cancel()
    }
}
