// The chat room spread over processes joined by one broker: run it three
// times (three ports, three node names, one room name); a user on any of
// them talks with the users on the others, and killing one process loses
// only its own users (the others hear them leave).
//
//   swift run RemoteChatRoom --port 8001 --node east --broker amqp://127.0.0.1
//   swift run RemoteChatRoom --port 8002 --node west --broker amqp://127.0.0.1
//   telnet 127.0.0.1 8001; telnet 127.0.0.1 8002
import ArgumentParser
import Glibc
import Green
import GreenChat
import GreenChatLink
import GreenRemote

@main
struct RemoteChatRoom: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A green telnet chat room shared with other processes through an AMQP broker.")

    @Option(help: "The port to listen on (0: any free port).") var port: Int = 8001
    @Option(help: "The broker, amqp://user:password@host:port/vhost") var broker = "amqp://127.0.0.1"
    @Option(help: "This process's node name, unique among the room's processes") var node: String
    @Option(help: "The room's name: processes with the same one share it") var room = "lobby"

    func run() throws {
        let node = try Node.join(name: node, broker: broker)
        let chat = ChatRoom(host: "127.0.0.1", port: port)
        try chat.start()
        let link = try RoomLink(room: chat, node: node, roomName: room)
        print("To join, telnet 127.0.0.1 \(chat.port)")
        fflush(stdout)
        let term = onSignal(SIGTERM) { try chat.close() }
        let int = onSignal(SIGINT) { try chat.close() }
        try chat.serveForever()
        term.cancel()
        int.cancel()
        try link.close()
        try node.leave()
    }
}
