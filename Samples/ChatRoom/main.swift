// The seeds' telnet chat room (gevent StreamServer, a reader and a writer
// greenlet per user, a queue between them), made robust: see GreenChat.ChatRoom.
//
// Run: swift run ChatRoom --port 8001; then: telnet 127.0.0.1 8001
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

    @Option(help: "The most bytes waiting for one user before it is disconnected as too slow.")
    var maxQueuedBytes: Int = 1 << 20

    func run() throws {
        var config = ChatRoom.Configuration()
        config.maxLineLength = maxLineLength
        config.maxQueuedBytes = maxQueuedBytes
        let room = ChatRoom(host: host, port: port, configuration: config)
        try room.start()
        print("To join, telnet \(host.isEmpty ? "127.0.0.1" : host) \(room.port)")
        fflush(stdout)
        let term = onSignal(SIGTERM) { try room.close() }
        let int = onSignal(SIGINT) { try room.close() }
        try room.serveForever()
        term.cancel()
        int.cancel()
    }
}
