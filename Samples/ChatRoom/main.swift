// The seeds' telnet chat room (gevent StreamServer, a reader and a writer
// greenlet per user, a queue between them), made robust: see GreenChat.ChatRoom.
//
// Run: swift run ChatRoom --port 8001; then: telnet 127.0.0.1 8001
// On every core: swift run ChatRoom --hubs 2 (a listener per hub on one port,
//           SO_REUSEPORT; lines cross hubs with the room's flow control: see
//           GreenChat.MultiHubChatRoom)
// SIGTERM (or Ctrl-C) tells everyone the room is closing, then exits 0.
import ArgumentParser
import Glibc
import Green
import GreenChat

@main
struct ChatRoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ChatRoom", abstract: "A green telnet chat room.")

    @Option(help: "The address to listen on (\"\" for every IPv4 interface, \"::\" for every interface).")
    var host: String = ""

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8001

    @Option(help: "The longest line accepted, in bytes.")
    var maxLineLength: Int = 4096

    @Option(help: "The most bytes of lines waiting for one user; a line waits until every user has room.")
    var maxQueuedBytes: Int = 1 << 20

    @Option(help: "Seconds a user may keep a line waiting for room before it is disconnected as too far behind.")
    var stallTimeout: Double = 2

    @Option(help: "Seconds a connection has to give its name.")
    var nameTimeout: Double = 60

    @Option(help: "Seconds a named user may stay silent before it is disconnected (0: for ever).")
    var idleTimeout: Double = 30 * 60

    @Option(help: "The most connections waiting at the name prompt (default: a quarter of the open-file limit).")
    var maxWaitingForName: Int?

    @Option(help: "Hubs (threads) serving connections, each with its own listener on the port.")
    var hubs = 1

    func validate() throws {
        guard hubs >= 1 && hubs <= 256 else { throw ValidationError("--hubs must be between 1 and 256") }
    }

    func run() throws {
        var config = ChatRoom.Configuration()
        config.maxLineLength = maxLineLength
        config.maxQueuedBytes = maxQueuedBytes
        config.stallTimeout = .milliseconds(Int64(stallTimeout * 1000))
        config.nameTimeout = .milliseconds(Int64(nameTimeout * 1000))
        config.idleTimeout = idleTimeout > 0 ? .milliseconds(Int64(idleTimeout * 1000)) : nil
        config.maxWaitingForName = maxWaitingForName
        if hubs > 1 { return try runOnHubs(config) }
        let room = ChatRoom(host: host, port: port, configuration: config)
        try room.start()
        try serve(port: room.port, close: { try room.close() }, serveForever: { try room.serveForever() })
    }

    /// The room on `hubs` hubs, this thread's among them.
    func runOnHubs(_ config: ChatRoom.Configuration) throws {
        let runtime = try GreenRuntime(hubs: hubs, includingCallingThread: true)
        defer { runtime.stop() }
        let room = MultiHubChatRoom(runtime: runtime, host: host, port: port, configuration: config)
        try room.start()
        try serve(port: room.port, close: { try room.close() }, serveForever: { try room.serveForever() })
    }

    /// Says where to join (scripts read the port from this line), closes the
    /// room on SIGTERM or SIGINT, and serves until it is closed.
    func serve(port: Int, close: @escaping () throws -> Void, serveForever: () throws -> Void) throws {
        print("To join, telnet \(host.isEmpty ? "127.0.0.1" : host) \(port)")
        fflush(stdout)
        let term = onSignal(SIGTERM) { try close() }
        let int = onSignal(SIGINT) { try close() }
        defer {
            term.cancel()
            int.cancel()
        }
        try serveForever()
    }
}
