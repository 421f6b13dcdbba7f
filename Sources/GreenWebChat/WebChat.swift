import Green
import GreenHTTP
import HTTPTypes
import Logging

/// The seeds' Flask chat room ("Micro gevent chatroom"), same routes and
/// behaviour, on GreenHTTP:
///
/// - `GET /`: the name page; `GET /<uid>`: the room list;
/// - `GET /<room>/<uid>`: joins the room and shows its last `backlogSize` messages;
/// - `POST /put/<room>/<uid>` with form field `message`: sends `uid:message`
///   to every user in the room;
/// - `POST /poll/<uid>`: waits up to `pollTimeout` for messages and returns
///   every one waiting as a JSON array of strings (`[]` on timeout).
///
/// What the seeds' room left open and this one closes: every text shown in a
/// page is HTML-escaped (the browser's script adds new messages as text,
/// never as markup); a user whose polls stop coming is dropped after
/// `idleTimeout`, with its queue, so memory stays bounded; a user's queue
/// keeps at most `maxQueued` messages (the oldest go first), a room its last
/// `backlogSize`; names and messages have a length limit. An unknown (or
/// dropped) user gets 404 on put and poll, and the page joins again.
///
/// Everything runs on the hub of the server that serves `router`: no lock.
public final class WebChat {
    /// Limits and timings of the chat.
    public struct Configuration: Sendable {
        /// The rooms there are.
        public var rooms = ["foo", "bar"]
        /// How long a poll waits for a message.
        public var pollTimeout: Duration = .seconds(10)
        /// A user with no poll waiting and none for this long is dropped.
        public var idleTimeout: Duration = .seconds(30)
        /// Messages a room keeps for newcomers (the seeds' `backlog(size=25)`).
        public var backlogSize = 25
        /// Messages waiting for one user at most; past it the oldest are dropped.
        public var maxQueued = 100
        /// The longest message, in bytes.
        public var maxMessageLength = 2000
        /// The longest user name, in bytes.
        public var maxNameLength = 64

        /// The defaults above.
        public init() {}
    }

    final class User {
        let uid: String
        let queue = Queue<String>()
        var lastSeen = ContinuousClock.now
        var polling = 0
        var rooms: Set<String> = []
        init(uid: String) { self.uid = uid }
    }

    final class Room {
        var members: [String: User] = [:]
        var messages: [String] = []
    }

    static let logger = Logger(label: "green.webchat")

    /// The chat's limits.
    public let configuration: Configuration
    private var rooms: [String: Room] = [:]
    private var users: [String: User] = [:]
    private var lastSweep = ContinuousClock.now

    /// A chat with `configuration`'s rooms, empty.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        for name in configuration.rooms { rooms[name] = Room() }
    }

    /// The routes, holding the chat; serve them with `HTTPServer(port:router:)`.
    public var router: Router {
        let router = Router()
        router.get("/") { _ in .html(Pages.choose()) }
        router.get("/favicon.ico") { _ in Response(status: .noContent) }
        router.get("/<uid>") { [self] request in
            let uid = try self.validName(request.parameters["uid"]!)
            return .html(Pages.main(uid: uid, rooms: self.configuration.rooms))
        }
        router.get("/<room>/<uid>") { [self] request in try self.join(request) }
        router.post("/put/<room>/<uid>") { [self] request in try self.put(request) }
        router.post("/poll/<uid>") { [self] request in try self.poll(request) }
        return router
    }

    /// Users known now.
    public var userCount: Int { users.count }
    /// The names of the members of `room`, sorted.
    public func members(of room: String) -> [String] { rooms[room]?.members.keys.sorted() ?? [] }

    // MARK: - Routes

    private func validName(_ uid: String) throws -> String {
        guard !uid.isEmpty, uid.utf8.count <= configuration.maxNameLength else {
            throw HTTPError(.badRequest, "a name has 1 to \(configuration.maxNameLength) bytes")
        }
        return uid
    }

    private func join(_ request: Request) throws -> Response {
        sweepIfDue()
        let roomName = request.parameters["room"]!
        guard let room = rooms[roomName] else { throw HTTPError(.notFound, "no room '\(roomName)'") }
        let uid = try validName(request.parameters["uid"]!)
        let user = users[uid] ?? {
            let u = User(uid: uid)
            users[uid] = u
            return u
        }()
        user.lastSeen = .now
        user.rooms.insert(roomName)
        room.members[uid] = user
        WebChat.logger.debug("subscribe \(roomName) \(uid)")
        return .html(Pages.room(room: roomName, uid: uid, messages: Array(room.messages.suffix(configuration.backlogSize))))
    }

    private func put(_ request: Request) throws -> Response {
        sweepIfDue()
        let roomName = request.parameters["room"]!, uid = request.parameters["uid"]!
        guard let room = rooms[roomName] else { throw HTTPError(.notFound, "no room '\(roomName)'") }
        guard let user = users[uid], user.rooms.contains(roomName) else { throw HTTPError(.notFound, "join first") }
        user.lastSeen = .now
        let message = try request.form()["message"] ?? ""
        guard message.utf8.count <= configuration.maxMessageLength else { throw HTTPError(.contentTooLarge, "message too long") }
        guard !message.isEmpty else { return Response(status: .ok) }
        add("\(uid):\(message)", to: room)
        return Response(status: .ok)
    }

    private func add(_ message: String, to room: Room) {
        room.messages.append(message)
        if room.messages.count > configuration.backlogSize * 2 {
            room.messages.removeFirst(room.messages.count - configuration.backlogSize)
        }
        for user in room.members.values {
            if user.queue.count >= configuration.maxQueued { _ = try? user.queue.getNowait() }
            try? user.queue.putNowait(message)
        }
    }

    private func poll(_ request: Request) throws -> Response {
        sweepIfDue()
        guard let user = users[request.parameters["uid"]!] else { throw HTTPError(.notFound, "unknown user") }
        user.polling += 1
        user.lastSeen = .now
        defer {
            user.polling -= 1
            user.lastSeen = .now
        }
        var messages: [String] = []
        do {
            messages.append(try user.queue.get(timeout: configuration.pollTimeout))
            while let more = try? user.queue.getNowait() { messages.append(more) }
        } catch QueueError.empty {
            // The seeds' `except queue.Empty: msg = []`.
        }
        return try .json(messages)
    }

    // MARK: - Dropping idle users

    private func sweepIfDue() {
        if ContinuousClock.now - lastSweep >= configuration.idleTimeout / 4 { sweep() }
    }

    /// Drops the users with no poll waiting and none for `idleTimeout`.
    /// Runs by itself as requests come; callable for tests and tools.
    /// - Note: never switches.
    public func sweep() {
        lastSweep = .now
        let now = ContinuousClock.now
        for (uid, user) in users where user.polling == 0 && now - user.lastSeen >= configuration.idleTimeout {
            for name in user.rooms { rooms[name]?.members[uid] = nil }
            users[uid] = nil
            WebChat.logger.debug("dropped idle user \(uid)")
        }
    }
}
