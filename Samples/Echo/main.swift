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

    @Option(help: "The longest line echoed, in bytes (the newline not counted).")
    var maxLineLength: Int = 65536

    func run() throws {
        let limit = maxLineLength
        let server = StreamServer(host: host, port: port) { socket, _ in
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
