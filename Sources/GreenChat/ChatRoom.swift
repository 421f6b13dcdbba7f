import Glibc
import Green
import Logging

/// The seeds' telnet chat room, made robust: a `StreamServer` whose handler
/// greenlet reads a user's lines, and a writer greenlet per user fed by a
/// bounded outbox.
///
/// The protocol, to the byte (lines end with `\n`; a `\r` before it is dropped):
/// - on connect: `Please enter your name: ` (no newline), then a line is read.
///   An empty name (after trimming spaces) asks again; a taken one gets
///   `That username is already taken.\n` and the prompt again;
/// - once named, every other user gets `## NAME joined from IP.\n`;
/// - each line a user sends reaches every user, the sender included, as
///   `NAME> TEXT\n` (TEXT's bytes as sent: bytes that are not UTF-8 pass
///   through; in a name they become U+FFFD);
/// - when a user leaves (quits, drops, or is disconnected), the others get
///   `## NAME left the chat.\n` and the name is free again.
///
/// What the seeds' room got wrong and this one does not:
/// - a stalled reader does not slow the room: its outbox holds at most
///   `maxQueuedBytes`; past that the user is told
///   `## You are too far behind; disconnecting.\n` (as soon as it reads again,
///   within `farewellTimeout`) and disconnected;
/// - a line over `maxLineLength` bytes is refused with
///   `## Line too long (limit N bytes); not sent.\n`, and the connection goes on;
/// - a client that vanishes mid-line is cleaned up (the partial line is dropped);
/// - `close()` tells everyone `## The room is closing.\n`, then closes.
///
/// Everything runs on the hub of the thread that calls `start()`: the room's
/// state needs no lock.
public final class ChatRoom {
    /// Limits and timings of a room.
    public struct Configuration: Sendable {
        /// The longest line (name or message) accepted, in bytes, `\n` not counted.
        public var maxLineLength = 4096
        /// The most bytes waiting for one user before it is disconnected as too slow.
        public var maxQueuedBytes = 1 << 20
        /// How long a user being disconnected (too slow, room closing) gets to read its last notice.
        public var farewellTimeout: Duration = .seconds(2)
        /// `SO_SNDBUF` for users' sockets; nil keeps the kernel's (tests make it small).
        public var sendBufferSize: Int32? = nil

        /// The defaults: 4 KiB lines, 1 MiB per user outbox, 2 s farewell.
        public init() {}
    }

    static let logger = Logger(label: "green.chat")

    /// The room's limits.
    public let configuration: Configuration
    private var server: StreamServer!
    private var users: [String: ChatUser] = [:]
    private var connections: [ObjectIdentifier: AnyGreenlet] = [:]
    private var closing = false
    /// Messages broadcast so far (lines and notices).
    public private(set) var broadcastCount = 0

    /// A room on `host` ("" for every IPv4 interface, "::" for every
    /// interface) and `port` (0: any free port, read back from `port`).
    /// Nothing is bound until `start()`.
    public init(host: String = "", port: Int = 8001, configuration: Configuration = Configuration()) {
        self.configuration = configuration
        server = StreamServer(host: host, port: port) { [weak self] socket, peer in
            do {
                try self?.handle(socket, peer)
            } catch is RoomClosing {
            } catch is Eviction {
            } catch is WriterFailed {
            }
        }
    }

    /// The port the room listens on, once started.
    public var port: Int { server.port }
    /// The address the room listens on, once started.
    public var address: SocketAddress? { server.address }
    /// The names of the users in the room now, sorted.
    public var userNames: [String] { users.keys.sorted() }

    /// Binds and starts accepting; returns at once.
    /// - Throws: `SocketError` (`addressInUse`...).
    /// - Note: switches only to resolve a host name.
    public func start() throws { try server.start() }

    /// Starts (if needed) and blocks until the room is closed.
    /// - Throws: as `start()`; errors injected into the caller.
    /// - Note: switches.
    public func serveForever() throws { try server.serveForever() }

    /// Closes the room: stops accepting, sends every user `notice` (after what
    /// is already queued for it), gives them `farewellTimeout` to read it,
    /// then closes every connection.
    /// - Throws: errors injected into the caller while it waits.
    /// - Note: switches.
    public func close(notice: String = "## The room is closing.") throws {
        guard !closing else { return try server.stop() }
        closing = true
        let message = Array((notice + "\n").utf8)
        for user in users.values {
            user.outbox.force(message)
            user.outbox.close()
        }
        for g in connections.values where g !== AnyGreenlet.current {
            try g.kill(RoomClosing(notice: message), block: false)
        }
        try server.stop(timeout: configuration.farewellTimeout + .seconds(1))
    }

    // MARK: - A connection

    private func handle(_ socket: Socket, _ peer: SocketAddress) throws {
        let me = AnyGreenlet.current
        connections[ObjectIdentifier(me)] = me
        defer { connections[ObjectIdentifier(me)] = nil }
        if let size = configuration.sendBufferSize { try? socket.setOption(SOL_SOCKET, SO_SNDBUF, size) }
        let reader = BufferedReader(socket, bufferSize: min(16384, configuration.maxLineLength + 1))
        let name: String
        do {
            guard let n = try readName(socket, reader) else { return }
            name = n
        } catch let closing as RoomClosing {
            try? socket.sendAll(closing.notice, timeout: configuration.farewellTimeout)
            return
        }
        let user = ChatUser(name: name, socket: socket, reader: me, limit: configuration.maxQueuedBytes)
        broadcast("## \(name) joined from \(peer.host).")
        users[name] = user
        let writer = spawn(name: "chat-writer") { try self.writeLoop(user) }
        defer { try? writer.kill(block: false) }

        var ending: Ending = .quit
        do {
            try readLoop(user, reader)
        } catch is Eviction {
            ending = .evicted
        } catch is RoomClosing {
            ending = .closing
        } catch let e as SocketError {
            ChatRoom.logger.debug("\(name) dropped: \(e)")
        } catch is WriterFailed {
        }
        if users[name] === user { users[name] = nil }
        if ending != .closing { broadcast("## \(name) left the chat.") }
        if ending != .quit {
            // Let the writer send what it has and the last notice, for a while.
            user.outbox.close()
            if try !writer.join(timeout: configuration.farewellTimeout) { try writer.kill() }
        }
    }

    private enum Ending { case quit, evicted, closing }

    /// Prompts until a free, non-empty name arrives; nil when the client leaves first.
    private func readName(_ socket: Socket, _ reader: BufferedReader) throws -> String? {
        while true {
            try socket.sendAll(ChatRoom.prompt)
            let line: [UInt8]?
            do {
                line = try reader.readLineBytes(maxLength: configuration.maxLineLength)
            } catch ReaderError.lineTooLong {
                try socket.sendAll(tooLongNotice)
                continue
            }
            guard let line, line.last == 10 else { return nil }
            let name = BufferedReader.text(of: line).trimmingSpaces
            if name.isEmpty { continue }
            if users[name] != nil {
                try socket.sendAll(ChatRoom.taken)
                continue
            }
            return name
        }
    }

    private func readLoop(_ user: ChatUser, _ reader: BufferedReader) throws {
        let prefix = Array("\(user.name)> ".utf8)
        while true {
            let line: [UInt8]?
            do {
                line = try reader.readLineBytes(maxLength: configuration.maxLineLength)
            } catch ReaderError.lineTooLong {
                user.outbox.force(tooLongNotice)
                continue
            }
            // End of stream; a line without its newline is a client gone mid-line.
            guard let line, line.last == 10 else { return }
            var n = line.count - 1
            if n > 0 && line[n - 1] == 13 { n -= 1 }
            var message = prefix
            message.reserveCapacity(prefix.count + n + 1)
            message.append(contentsOf: line[..<n])
            message.append(10)
            broadcast(message)
            // This user's own outbox may have overflowed in that broadcast.
            if user.evicted { throw Eviction() }
        }
    }

    private func writeLoop(_ user: ChatUser) throws {
        var buffer: [UInt8] = []
        do {
            while let batch = try user.outbox.take() {
                buffer.removeAll(keepingCapacity: true)
                for m in batch { buffer.append(contentsOf: m) }
                try user.socket.sendAll(buffer)
            }
        } catch let e as SocketError {
            // The peer is gone: end its reader too, unless it is ending already.
            if users[user.name] === user, !user.evicted {
                try? user.reader.kill(WriterFailed(error: e), block: false)
            }
        }
    }

    // MARK: - Broadcasting

    private func broadcast(_ text: String) { broadcast(Array((text + "\n").utf8)) }

    /// Queues `message` for every user; evicts those too far behind. Never switches.
    private func broadcast(_ message: [UInt8]) {
        broadcastCount += 1
        var behind: [ChatUser] = []
        for user in users.values where !user.outbox.offer(message) {
            if !user.outbox.isClosed { behind.append(user) }
        }
        for user in behind { evict(user) }
    }

    private func evict(_ user: ChatUser) {
        guard users[user.name] === user else { return }
        users[user.name] = nil
        user.evicted = true
        user.outbox.clear()
        user.outbox.force(ChatRoom.tooFarBehind)
        user.outbox.close()
        if user.reader !== AnyGreenlet.current { try? user.reader.kill(Eviction(), block: false) }
    }

    // MARK: - Texts

    static let prompt = Array("Please enter your name: ".utf8)
    static let taken = Array("That username is already taken.\n".utf8)
    static let tooFarBehind = Array("## You are too far behind; disconnecting.\n".utf8)
    private var tooLongNotice: [UInt8] {
        Array("## Line too long (limit \(configuration.maxLineLength) bytes); not sent.\n".utf8)
    }
}

/// One named user: its socket, its outbox, and its reader (the connection's greenlet).
final class ChatUser {
    let name: String
    let socket: Socket
    let reader: AnyGreenlet
    let outbox: Outbox
    /// Set when it is disconnected for being too far behind.
    var evicted = false

    init(name: String, socket: Socket, reader: AnyGreenlet, limit: Int) {
        self.name = name
        self.socket = socket
        self.reader = reader
        self.outbox = Outbox(limit: limit)
    }
}

/// Injected into a user's reader when its outbox overflows.
struct Eviction: Error {}
/// Injected into every connection when the room closes.
struct RoomClosing: Error { let notice: [UInt8] }
/// Injected into a user's reader when its writer hit a socket error.
struct WriterFailed: Error { let error: SocketError }

extension String {
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
