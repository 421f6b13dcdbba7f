import Green
import GreenAMQP
import GreenChat
import GreenRemote
import Logging

/// One chat room spread over several processes joined by a broker: each
/// process runs a `ChatRoom` for its own users, and a `RoomLink` carries what
/// they broadcast to the rooms of the other processes.
///
/// ```swift
/// let room = ChatRoom(port: 8001)
/// try room.start()
/// let link = try RoomLink(room: room, node: try Node.join(name: "east", broker: url), room: "lobby")
/// ```
///
/// On the broker: a fanout exchange `green.chat.ROOM`; each process's
/// exclusive queue `green.chat.ROOM.NODE` is bound to it. Every broadcast
/// of a local user (lines, joined and left notices) is published there and
/// relayed by every other process to its users, in the order its users
/// said it (one publisher, one queue per receiver).
///
/// A process that dies loses only its own users: each link keeps the
/// names that joined through every other node (from their notices), and
/// when a node vanishes (the node's failure detection: within
/// `downAfter + beat` of its last beat) or leaves, tells its users
/// `## NAME left the chat.` for each of them. The rest of the room goes on.
///
/// Limits: names are unique per process, not across the room (two
/// processes may each have a "bob"); a newcomer learns of users of other
/// processes only as they speak or join after it. Delivery is at most
/// once: lines on the way when a process dies are lost, like the process's
/// own users' connections.
///
/// Thread-safety: the room and the node must live on the same hub; use the
/// link there.
public final class RoomLink {
    /// The room's name on the broker.
    public let roomName: String
    /// The node it talks through.
    public let node: Node
    /// The local room.
    public let room: ChatRoom
    /// The users of other nodes known to be in the room, by node.
    public private(set) var remoteUsers: [String: Set<String>] = [:]
    /// Messages this link dropped because its queue to the broker was full.
    public private(set) var droppedCount = 0

    private let outgoing = Queue<[UInt8]>(maxSize: 10_000)
    private var watched: Set<String> = []
    private var helpers: [AnyGreenlet] = []
    private let exchange: String
    static let logger = Logger(label: "green.chat.link")

    /// Links `room` to the other processes' rooms named `roomName` through `node`'s broker.
    /// - Throws: the client's errors (no broker...).
    /// - Note: switches (declares and subscribes). On the room's and node's hub.
    public init(room: ChatRoom, node: Node, roomName: String = "lobby") throws {
        self.room = room
        self.node = node
        self.roomName = roomName
        exchange = "green.chat.\(roomName)"
        let queue = "\(exchange).\(node.name)"
        try node.client.declareExchange(exchange, kind: .fanout)
        try node.client.declareQueue(queue, exclusive: true, autoDelete: true)
        try node.client.bind(queue: queue, exchange: exchange)
        let inbox = try node.client.consume(queue: queue, noAck: true)
        room.onBroadcast { [weak self] message in
            guard let self else { return }
            do { try outgoing.putNowait(message) } catch { droppedCount += 1 }
        }
        helpers.append(spawn(name: "chat-link-out") { [unowned self] in
            while let message = try outgoing.nextItem() {
                let p = AMQPProperties(headers: ["from": .string(node.name)])
                try node.client.publishUnconfirmed(message, exchange: exchange, routingKey: "", properties: p)
            }
        })
        helpers.append(spawn(name: "chat-link-in") { [unowned self] in
            while let d = try inbox.next() { receive(d) }
        })
    }

    private func receive(_ d: AMQPDelivery) {
        guard let from = d.properties.headers?["from"]?.string, from != node.name else { return }
        watch(from)
        let text = d.message.text
        if text.hasPrefix("## "), let name = Self.name(in: text, before: " joined from ") {
            remoteUsers[from, default: []].insert(name)
        } else if text.hasPrefix("## "), let name = Self.name(in: text, before: " left the chat.") {
            remoteUsers[from]?.remove(name)
        }
        room.relay(d.body)
    }

    /// The NAME of a `## NAME<marker>...` notice (names hold no `#` at the
    /// start and no control characters, so a user's line `NAME> ...` never matches).
    static func name(in text: String, before marker: String) -> String? {
        guard let r = text.range(of: marker) else { return nil }
        let name = text[text.index(text.startIndex, offsetBy: 3)..<r.lowerBound]
        return name.isEmpty ? nil : String(name)
    }

    /// Watches `other` (once): when it vanishes or leaves, its users leave the room.
    private func watch(_ other: String) {
        guard watched.insert(other).inserted else { return }
        let proxy = node.ref("chat-room-link", on: other, as: String.self).proxy()
        helpers.append(spawn(name: "chat-link-watch-\(other)") { [unowned self] in
            _ = try proxy.join()
            watched.remove(other)
            let gone = remoteUsers.removeValue(forKey: other) ?? []
            Self.logger.info("node '\(other)' is gone with \(gone.count) user(s)")
            for name in gone.sorted() { room.relay(Array("## \(name) left the chat.\n".utf8)) }
        })
    }

    /// Stops relaying (the node stays joined).
    /// - Note: switches. On the room's hub.
    public func close() throws {
        room.onBroadcast(nil)
        outgoing.close()
        for g in helpers where g !== AnyGreenlet.current { try? g.kill(block: false) }
    }
}
