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
///   `NAME> TEXT\n`, TEXT cleaned by `ChatText.displayable`: valid UTF-8
///   (other bytes become U+FFFD) without control characters but tab, escape
///   sequences or telnet negotiation, so no line can rewrite another on a
///   terminal;
/// - a name that could spoof the room or a user (a control character, a
///   leading `#`, a `>`: see `ChatText.name(from:)`) gets
///   `ChatText.nameRefusedNotice` and the prompt again;
/// - when a user leaves (quits, drops, or is disconnected), the others get
///   `## NAME left the chat.\n` and the name is free again.
///
/// What the seeds' room got wrong and this one does not:
/// - a stalled reader does not hold the room up for long nor take unbounded
///   memory: its backlog (queued, or taken by its writer and not yet accepted
///   by the kernel) holds at most `maxQueuedBytes` of lines; a line that does
///   not fit waits, and a user whose connection took nothing for
///   `stallTimeout`, or that stays without room that long, is told
///   `## You are too far behind; disconnecting.\n` (as soon as it reads
///   again, within `farewellTimeout`) and disconnected;
/// - a user that is only momentarily behind is not disconnected. Talkers'
///   lines are read from their buffers without waiting for the loop, while a
///   writer whose socket was full must wait for the hub's next poll of libev
///   (which can be tens of milliseconds away when many greenlets are ready);
///   in that gap the talkers used to push every such user past the limit at
///   once, and all were evicted together (issue 14: every talker cut at the
///   same message count). Now a line waits for room instead, and the limit
///   evicts only a user whose connection takes too little for `stallTimeout`;
/// - a line over `maxLineLength` bytes is refused with
///   `## Line too long (limit N bytes); not sent.\n`, and the connection goes on;
/// - a client that vanishes mid-line is cleaned up (the partial line is dropped);
/// - the room reads a talker no faster than it delivers: a reader broadcasts
///   one line, lets every other greenlet run (the writers among them), and
///   reads its next line only once its own backlog is at most half full (its
///   own lines come back to it, so this paces it by what the room and the
///   network deliver). Without that, a talker whose lines had piled up in its
///   socket put them all in every outbox in one go. A room that cannot keep
///   up slows its talkers (their sockets fill), and only users slower than
///   the talkers fall behind; a talker whose own backlog stays over half full
///   for `idleTimeout` is evicted as too far behind;
/// - a connection has `nameTimeout` to give an accepted name
///   (`## No name given in time; disconnecting.\n`), and a named user that
///   sends nothing for `idleTimeout` is disconnected
///   (`## Idle for too long; disconnecting.\n`);
/// - at most `maxWaitingForName` connections wait at the prompt; a newcomer
///   past that pushes out the oldest one
///   (`## Too many connections are waiting to join; disconnecting.\n`), so
///   silent connections cannot take every descriptor from users who name themselves;
/// - `close()` tells everyone `## The room is closing.\n`, then closes.
///
/// Everything runs on the hub of the thread that calls `start()`: the room's
/// state needs no lock. Hub-local: call it on that hub only. (`MultiHubChatRoom`
/// serves one room on every hub of a runtime: a `ChatRoom` per hub, linked.)
public final class ChatRoom {
    /// Limits and timings of a room.
    public struct Configuration: Sendable {
        /// The longest line (name or message) accepted, in bytes, `\n` not counted.
        public var maxLineLength = 4096
        /// The most bytes of lines waiting for one user (queued, or taken by its
        /// writer and not yet accepted by the kernel). A line waits until every
        /// user has room for it; notices may go past it, up to twice as much.
        public var maxQueuedBytes = 1 << 20
        /// When a line finds no room in a user's backlog: how long its
        /// connection may have taken nothing, or the backlog may stay without
        /// coming down to half, before the user is disconnected as too far
        /// behind. Meanwhile the room's talkers wait (a client that stopped
        /// reading long before does not make them wait: it goes at once).
        public var stallTimeout: Duration = .seconds(2)
        /// How long a user being disconnected (too slow, room closing) gets to read its last notice.
        public var farewellTimeout: Duration = .seconds(2)
        /// `SO_SNDBUF` for users' sockets; nil keeps the kernel's (tests make it small).
        public var sendBufferSize: Int32? = nil
        /// How long a connection has, from its arrival, to give an accepted name.
        public var nameTimeout: Duration = .seconds(60)
        /// How long a named user may send nothing before it is disconnected; nil: for ever.
        public var idleTimeout: Duration? = .seconds(30 * 60)
        /// The most connections waiting at the name prompt at once; nil: a quarter
        /// of the process's open-file limit (`RLIMIT_NOFILE`) when the room starts, at least 16.
        public var maxWaitingForName: Int? = nil

        /// The defaults: 4 KiB lines, 1 MiB per user outbox, 2 s stall, 2 s farewell,
        /// 60 s to give a name, 30 min idle, a quarter of the descriptors for the prompt.
        public init() {}
    }

    static let logger = Logger(label: "green.chat")

    /// The room's limits.
    public let configuration: Configuration
    private var server: StreamServer!
    private var users: [String: ChatUser] = [:]
    private var connections: [ObjectIdentifier: AnyGreenlet] = [:]
    private var waitingForName = ArrivalQueue()
    private var waitingLimit = 16
    private var closing = false
    /// Messages broadcast so far (lines and notices).
    public private(set) var broadcastCount = 0
    /// Sees every message broadcast by this room's own users (see `ChatRoom+Link.swift`).
    var linkHook: (([UInt8]) -> Void)?
    /// When this room is one hub's part of a `MultiHubChatRoom`: the other
    /// hubs' parts (every line and notice of this room's users goes to them
    /// too) and the names taken on every hub. Set before `start()`, on this hub.
    var peers: [ChatPeer] = []
    var names: ChatNames?
    /// This room's index among its `MultiHubChatRoom`'s hubs (0 alone).
    var hubIndex = 0

    /// A room on `host` ("" for every IPv4 interface, "::" for every
    /// interface) and `port` (0: any free port, read back from `port`).
    /// Nothing is bound until `start()`.
    public init(host: String = "", port: Int = 8001, configuration: Configuration = Configuration()) {
        self.configuration = configuration
        server = StreamServer(host: host, port: port) { [weak self] socket, peer in
            try self?.serve(socket, peer)
        }
    }

    /// A room accepting on `listener`, a socket already listening (a
    /// `MultiHubChatRoom` gives each hub's room its own, `SO_REUSEPORT`).
    init(listening listener: Socket, configuration: Configuration) {
        self.configuration = configuration
        server = StreamServer(listening: listener) { [weak self] socket, peer in
            try self?.serve(socket, peer)
        }
    }

    /// A connection's handler: the room's own endings are not errors; others go to the server.
    private func serve(_ socket: Socket, _ peer: SocketAddress) throws {
        do {
            try handle(socket, peer)
        } catch is RoomClosing {
        } catch is Eviction {
        } catch is WriterFailed {
        } catch is Crowded {
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
    public func start() throws {
        waitingLimit = configuration.maxWaitingForName ?? ChatRoom.quarterOfTheDescriptors()
        try server.start()
    }

    /// A quarter of the soft limit on open files, at least 16.
    static func quarterOfTheDescriptors() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 1 << 16 }
        return max(16, Int(limit.rlim_cur / 4))
    }

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
            guard let n = try readNameWaitingInLine(socket, reader) else { return }
            name = n
        } catch let closing as RoomClosing {
            try? socket.sendAll(closing.notice, timeout: configuration.farewellTimeout)
            return
        } catch is Crowded {
            try? socket.sendAll(ChatRoom.crowded, timeout: configuration.farewellTimeout)
            return
        } catch SocketError.timedOut {
            try? socket.sendAll(ChatRoom.nameTooLate, timeout: configuration.farewellTimeout)
            return
        }
        // The name is ours (`readName` claimed it) until the others were told we left.
        var nameHeld = true
        defer { if nameHeld { names?.release(name) } }
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
        } catch SocketError.timedOut {
            ending = .idle
            user.outbox.force(ChatRoom.idle)
        } catch is RoomClosing {
            ending = .closing
        } catch let e as SocketError {
            ChatRoom.logger.debug("\(name) dropped: \(e)")
        } catch is WriterFailed {
        }
        if users[name] === user { users[name] = nil }
        // Talkers waiting for room in this user's backlog look again.
        user.outbox.wakeDrainWaiters()
        if ending != .closing {
            broadcast("## \(name) left the chat.", thenFree: name)
            nameHeld = false
        }
        if ending != .quit {
            // Let the writer send what it has and the last notice, for a while.
            user.outbox.close()
            if try !writer.join(timeout: configuration.farewellTimeout) { try writer.kill() }
        }
    }

    private enum Ending { case quit, evicted, idle, closing }

    /// `readName` as one of the connections waiting at the prompt: past
    /// `waitingLimit` of them, the oldest is pushed out (`Crowded`).
    private func readNameWaitingInLine(_ socket: Socket, _ reader: BufferedReader) throws -> String? {
        let me = AnyGreenlet.current
        while waitingForName.count >= waitingLimit, let oldest = waitingForName.removeOldest() {
            try? oldest.kill(Crowded(), block: false)
        }
        waitingForName.append(me)
        defer { waitingForName.remove(me) }
        return try readName(socket, reader, deadline: ContinuousClock.now + configuration.nameTimeout)
    }

    /// Prompts until a free, accepted name arrives; nil when the client leaves first.
    /// - Throws: `SocketError.timedOut` at `deadline`; socket errors; injected errors.
    private func readName(_ socket: Socket, _ reader: BufferedReader, deadline: ContinuousClock.Instant) throws -> String? {
        func left() -> Duration { max(.zero, deadline - ContinuousClock.now) }
        while true {
            try socket.sendAll(ChatRoom.prompt, timeout: left())
            let line: [UInt8]?
            do {
                line = try reader.readLineBytes(maxLength: configuration.maxLineLength, timeout: left())
            } catch ReaderError.lineTooLong {
                try socket.sendAll(tooLongNotice, timeout: left())
                continue
            }
            guard let line, line.last == 10 else { return nil }
            switch ChatText.name(from: line) {
            case .empty:
                continue
            case .refused:
                try socket.sendAll(ChatRoom.nameRefused, timeout: left())
            case .accepted(let name) where !claim(name):
                try socket.sendAll(ChatRoom.taken, timeout: left())
            case .accepted(let name):
                return name
            }
        }
    }

    /// Whether `name` is free, taking it when it is: alone, a free name needs
    /// only this room's users (the caller adds it before it next switches);
    /// in a `MultiHubChatRoom`, every hub's (`names`, freed by `handle`).
    private func claim(_ name: String) -> Bool {
        guard let names else { return users[name] == nil }
        return names.claim(name, hub: hubIndex)
    }

    private func readLoop(_ user: ChatUser, _ reader: BufferedReader) throws {
        let prefix = Array("\(user.name)> ".utf8)
        while true {
            let line: [UInt8]?
            do {
                line = try reader.readLineBytes(maxLength: configuration.maxLineLength, timeout: configuration.idleTimeout)
            } catch ReaderError.lineTooLong {
                user.outbox.force(tooLongNotice)
                continue
            }
            // End of stream; a line without its newline is a client gone mid-line.
            guard let line, line.last == 10 else { return }
            let text = ChatText.displayable(line)
            var message = prefix
            message.reserveCapacity(prefix.count + text.count + 1)
            message.append(contentsOf: text)
            message.append(10)
            try waitForRoom(message.count, reader: user)
            broadcast(message)
            // This user's own outbox may have overflowed in that broadcast.
            if user.evicted { throw Eviction() }
            if !peers.isEmpty { try sendToPeers(message) }
            // Let the writers send this line before the next one is read, and
            // read no faster than this user's own lines reach it (see the type's comment).
            try yieldGreenlet()
            if try !user.outbox.waitUntilHalfEmpty(timeout: configuration.idleTimeout) {
                evict(user)
                throw Eviction()
            }
        }
    }

    /// Sends the user's outbox, reporting each send to it (so its backlog
    /// counts only what the kernel has not taken yet).
    private func writeLoop(_ user: ChatUser) throws {
        var buffer: [UInt8] = []
        do {
            while let batch = try user.outbox.take() {
                buffer.removeAll(keepingCapacity: true)
                for m in batch { buffer.append(contentsOf: m) }
                var offset = 0
                while offset < buffer.count {
                    let n = try buffer.withUnsafeBytes { all in
                        try user.socket.send(UnsafeRawBufferPointer(rebasing: all[offset...]))
                    }
                    offset += n
                    user.outbox.delivered(n)
                }
            }
        } catch let e as SocketError {
            // The peer is gone: end its reader too, unless it is ending already.
            if users[user.name] === user, !user.evicted {
                try? user.reader.kill(WriterFailed(error: e), block: false)
            }
        }
    }

    // MARK: - Broadcasting

    /// Queues a notice for every user, past `maxQueuedBytes` if need be (a
    /// burst of joins and leaves must not cut users that are only a little
    /// behind), up to twice it; a user past that is evicted. Hands it to the
    /// link hook, if any. Never switches.
    ///
    /// In a `MultiHubChatRoom` the other hubs get it too, in order after this
    /// user's earlier lines (each waited for its reply) and before its next
    /// (`Hub.call` travels the same way), and `thenFree` (a leaving user's
    /// name) is freed only once every hub has queued the notice: a newcomer
    /// taking the name cannot hear its predecessor leave.
    private func broadcast(_ text: String, thenFree name: String? = nil) {
        let message = Array((text + "\n").utf8)
        linkHook?(message)
        let release = name.flatMap { name in names.map { (name, $0) } }
        release.map { $0.1.release($0.0, afterArrivals: peers.count) }
        for peer in peers {
            let posted = peer.hub.runThreadsafe { [peer] in
                peer.room.broadcastNotice(message)
                release.map { $0.1.arrived($0.0) }
            }
            // That hub has ended: nobody there to tell.
            if !posted { release.map { $0.1.arrived($0.0) } }
        }
        broadcastNotice(message)
    }

    /// `broadcast(_:)`'s queueing, for this room's users only.
    private func broadcastNotice(_ message: [UInt8]) {
        broadcastCount += 1
        var behind: [ChatUser] = []
        for user in users.values where !user.outbox.isClosed {
            if user.outbox.bytes + message.count > 2 * user.outbox.limit {
                behind.append(user)
            } else {
                user.outbox.force(message)
            }
        }
        for user in behind { evict(user) }
    }

    /// Queues a line for every user; evicts any without room (after
    /// `waitForRoom`, none; a line relayed from another process does not
    /// wait). Hands local lines to the link hook, if any. Never switches.
    func broadcast(_ message: [UInt8], fromElsewhere: Bool = false) {
        if !fromElsewhere { linkHook?(message) }
        broadcastCount += 1
        var behind: [ChatUser] = []
        for user in users.values where !user.outbox.offer(message) {
            if !user.outbox.isClosed { behind.append(user) }
        }
        for user in behind { evict(user) }
    }

    /// Hands a line of this room's user to every other hub's room, one hub
    /// after the other: there it waits until every user has room (as
    /// `waitForRoom`: a stalled user there is evicted there) and is queued.
    /// The user's next line is read only once every hub has queued this one,
    /// so every hub gets each user's lines in the order they were said.
    /// - Throws: errors injected into the caller (forwarded to the greenlet
    ///   working for it on the other hub, see `Hub.call`).
    /// - Note: switches (a round trip to each other hub).
    private func sendToPeers(_ message: [UInt8]) throws {
        for peer in peers {
            do {
                try peer.hub.call { [peer] in try peer.room.receiveLine(message) }
            } catch GreenError.hubGone {
                // That hub has ended (its runtime is stopping): nobody there to tell.
            }
        }
    }

    /// A line said on another hub: waits until every user here has room,
    /// then queues it for them. On this room's hub (a `Hub.call` from the speaker's).
    /// - Throws: errors injected into the caller.
    /// - Note: switches while a user has no room.
    private func receiveLine(_ message: [UInt8]) throws {
        guard !closing else { return }
        try waitForRoom(message.count, reader: nil)
        broadcast(message, fromElsewhere: true)
    }

    /// Waits until every user has room for `count` more bytes. A user
    /// without room is evicted at once when its connection has taken nothing
    /// for `stallTimeout` already (a client that stopped reading long before
    /// its backlog filled does not hold the room up), and otherwise when it
    /// stays without room for `stallTimeout` (its backlog not come down to
    /// half of the limit since a line first waited for it: a client that
    /// reads, but too slowly). Before an eviction the greenlets that are ready
    /// run, and a user whose socket takes data (its writer has not run yet
    /// since the hub last polled) gets one more `stallTimeout`. Every user
    /// without room starts its clock at once, so users that stalled together
    /// go together.
    /// - Throws: `Eviction` when `reader`'s own user is the one evicted;
    ///   errors injected into the caller.
    /// - Note: switches while a user has no room.
    private func waitForRoom(_ count: Int, reader: ChatUser?) throws {
        while true {
            let now = ContinuousClock.now
            var first: (user: ChatUser, since: ContinuousClock.Instant)?
            for user in users.values where !user.outbox.isClosed && !user.outbox.hasRoom(for: count) {
                // Stuck since before it filled up: its time may have run out already.
                let since = user.outbox.fullSince ?? min(now, user.outbox.lastProgress)
                user.outbox.fullSince = since
                if first == nil || since < first!.since { first = (user, since) }
            }
            guard let (full, since) = first else { return }
            let left = since + configuration.stallTimeout - now
            if left > .zero {
                _ = try full.outbox.waitForDrain(timeout: left)
                continue
            }
            try yieldGreenlet()
            guard users[full.name] === full, !full.outbox.isClosed, !full.outbox.hasRoom(for: count),
                  let stuck = full.outbox.fullSince, ContinuousClock.now - stuck >= configuration.stallTimeout
            else { continue }
            if !full.outbox.extended && ChatRoom.isWritable(full.socket) {
                full.outbox.extended = true
                full.outbox.fullSince = ContinuousClock.now
                continue
            }
            evict(full)
            if full === reader { throw Eviction() }
        }
    }

    /// Whether the kernel would take data on `socket` now (`poll`, no wait).
    private static func isWritable(_ socket: Socket) -> Bool {
        var p = pollfd(fd: socket.fd, events: Int16(POLLOUT), revents: 0)
        return poll(&p, 1, 0) == 1 && p.revents & Int16(POLLOUT) != 0
    }

    private func evict(_ user: ChatUser) {
        guard users[user.name] === user else { return }
        ChatRoom.logger.debug("\(user.name) is too far behind: \(user.outbox.bytes) bytes waiting")
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
    static let nameRefused = Array(ChatText.nameRefusedNotice.utf8)
    static let nameTooLate = Array("## No name given in time; disconnecting.\n".utf8)
    static let idle = Array("## Idle for too long; disconnecting.\n".utf8)
    static let crowded = Array("## Too many connections are waiting to join; disconnecting.\n".utf8)
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
/// Injected into the oldest connection waiting at the prompt when too many wait.
struct Crowded: Error {}

/// The connections waiting at the name prompt, oldest first: append, remove
/// any, take the oldest; each in amortized constant time.
struct ArrivalQueue {
    private var order: [AnyGreenlet?] = []
    private var head = 0
    private var slots: [ObjectIdentifier: Int] = [:]

    var count: Int { slots.count }

    mutating func append(_ g: AnyGreenlet) {
        slots[ObjectIdentifier(g)] = order.count
        order.append(g)
    }

    mutating func remove(_ g: AnyGreenlet) {
        guard let i = slots.removeValue(forKey: ObjectIdentifier(g)) else { return }
        order[i] = nil
        compactIfSparse()
    }

    mutating func removeOldest() -> AnyGreenlet? {
        while head < order.count {
            let g = order[head]
            order[head] = nil
            head += 1
            if let g {
                slots[ObjectIdentifier(g)] = nil
                compactIfSparse()
                return g
            }
        }
        return nil
    }

    /// Rebuilds the array once most of its slots are empty (so after at
    /// least as many removals as live entries: amortized constant time).
    private mutating func compactIfSparse() {
        while head < order.count, order[head] == nil { head += 1 }
        guard order.count > 64, slots.count * 2 < order.count else { return }
        order = order[head...].filter { $0 != nil }
        head = 0
        for (i, g) in order.enumerated() { slots[ObjectIdentifier(g!)] = i }
    }
}
