// The seeds' Flask chat room ("Micro gevent chatroom"), in a browser:
// GET / to pick a name, GET /<uid> for the rooms, GET /<room>/<uid> to join;
// the page long-polls POST /poll/<uid> and sends with POST /put/<room>/<uid>.
//
// Run: swift run WebChat --port 5000; then open http://127.0.0.1:5000/
// SIGTERM (or Ctrl-C) stops it gracefully.
import ArgumentParser
import Glibc
import Green
import GreenHTTP
import GreenWebChat

@main
struct WebChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "WebChat", abstract: "The seeds' long-polling web chat.")

    @Option(help: "The address to listen on (\"\" for every IPv4 interface, \"::\" for every interface).")
    var host: String = ""

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 5000

    @Option(help: "Seconds a poll waits for a message.")
    var pollTimeout: Int = 10

    @Option(help: "Seconds after its last poll before a user is dropped.")
    var idleTimeout: Int = 30

    @Flag(inversion: .prefixedNo, help: "Log every request (swift-log, to stderr).")
    var accessLog = true

    func run() throws {
        var chatConfiguration = WebChat.Configuration()
        chatConfiguration.pollTimeout = .seconds(pollTimeout)
        chatConfiguration.idleTimeout = .seconds(idleTimeout)
        let chat = WebChat(configuration: chatConfiguration)
        var configuration = HTTPServer.Configuration()
        if !accessLog { configuration.accessLog = nil }
        configuration.stopTimeout = .seconds(1)  // polls in flight are cut, not waited for
        let server = HTTPServer(host: host, port: port, configuration: configuration, router: chat.router)
        try server.start()
        print("Serving on http://\(host.isEmpty ? "127.0.0.1" : host):\(server.port)/")
        fflush(stdout)
        let term = onSignal(SIGTERM) { try server.stop() }
        let int = onSignal(SIGINT) { try server.stop() }
        try server.serveForever()
        term.cancel()
        int.cancel()
    }
}
