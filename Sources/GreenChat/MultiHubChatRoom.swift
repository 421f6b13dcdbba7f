import Green

/// One chat room served on every hub of a `GreenRuntime`: the same protocol,
/// limits and guarantees as `ChatRoom`, with connections spread over the cores.
///
/// How it is built:
/// - **A listener per hub.** Each hub has a `ChatRoom` of its own with its own
///   listening socket on the one port (`SO_REUSEPORT`): the kernel spreads new
///   connections over them, and a connection is served (read, written,
///   evicted) on the hub that accepted it for its whole life. Nothing is
///   handed from hub to hub per connection, no acceptor is a bottleneck in a
///   storm of connections, and each hub backs off alone when it runs out of
///   descriptors (the same choice as the `Echo` sample's `--hubs`). The cost:
///   the kernel places connections by a hash of their addresses, not by load,
///   so a handful of users may all land on one hub.
/// - **Names for the whole room.** A name is claimed in a table shared by the
///   hubs (`ChatNames`, a mutex held for a lookup), so it is unique room-wide.
/// - **Lines cross hubs with the room's flow control.** A line is queued on its
///   speaker's hub once every user there has room (as in `ChatRoom`), then the
///   speaker's reader carries it to each other hub in turn with `Hub.call`:
///   there it waits until every user has room and is queued. Only then does the
///   speaker's next line get read. So every user hears every line; each
///   speaker's lines arrive in order everywhere; a user on any hub that stalls
///   is evicted after `stallTimeout` by its own hub while the line waits for
///   it, and the talkers (on every hub) wait meanwhile, as in one room.
/// - **Notices** (joins, leaves) travel to the other hubs with
///   `runThreadsafe`, after the speaker's earlier lines and before its next. A
///   leaving user's name is freed only once every hub has queued its leave
///   notice, so whoever takes the name next never hears it leave.
///
/// What differs from one `ChatRoom`:
/// - the order in which *different* speakers' lines interleave may differ
///   from hub to hub (each hub's users all see the same order);
/// - a line reaches the users of its speaker's hub first, the others' a
///   cross-core round trip later, and a speaker waits for that round trip per
///   line;
/// - a user that joins on one hub just after another joined elsewhere may
///   hear that one's join notice (it crosses hubs while the newcomer names
///   itself), where one room would have counted it as before its time;
/// - `maxWaitingForName` (and its default) counts per hub;
/// - `onBroadcast` and `relay` (rooms linked across processes) are not offered.
///
/// Thread-safe: every member may be called from any hub or thread; the
/// blocking ones from a greenlet (they wait cooperatively).
public final class MultiHubChatRoom: @unchecked Sendable {
    /// The runtime whose hubs serve the room.
    public let runtime: GreenRuntime
    /// The room's limits (each hub's room has the same).
    public let configuration: ChatRoom.Configuration
    private let host: String
    private let requestedPort: Int
    private let names = ChatNames()
    /// rooms[i] lives on runtime.hubs[i]; written once by `start()`, before any
    /// hub's room accepts (each is reached through its hub afterwards).
    private var rooms: [ChatRoom] = []
    private var boundPort = 0

    /// A room on every hub of `runtime`, on `host` ("" for every IPv4
    /// interface, "::" for every interface) and `port` (0: any free port, read
    /// back from `port`). Nothing is bound until `start()`.
    public init(runtime: GreenRuntime, host: String = "", port: Int = 8001,
                configuration: ChatRoom.Configuration = ChatRoom.Configuration()) {
        self.runtime = runtime
        self.host = host
        self.requestedPort = port
        self.configuration = configuration
    }

    /// The port the room listens on, once started.
    public var port: Int { boundPort }

    /// The names of the users in the room now (every hub), sorted.
    /// - Note: never switches. Any hub or thread.
    public var userNames: [String] { names.all }

    /// The index (in `runtime.hubs`) of the hub serving the user named `name`, if any.
    /// - Note: never switches. Any hub or thread.
    public func hubIndex(ofUser name: String) -> Int? { names.hub(of: name) }

    /// Binds a listener per hub on one port (`SO_REUSEPORT`) and starts
    /// accepting on each; returns once every hub accepts. Call it once.
    /// - Throws: `SocketError` (`addressInUse`, `resolutionFailed`...);
    ///   `GreenError.hubGone`; errors injected into the caller.
    /// - Note: switches (a round trip to each hub). Any greenlet, on any hub or thread.
    public func start() throws {
        precondition(rooms.isEmpty, "MultiHubChatRoom.start() called twice")
        let address = try Resolver.resolve(host: host, port: requestedPort, kind: .stream)[0]
        var made: [ChatRoom] = []
        var port = requestedPort
        // Bind every listener first (the first picks the port when it is 0) ...
        for hub in runtime.hubs {
            let at = try SocketAddress(host: address.host, port: port)
            let (room, bound) = try hub.call { [configuration, at] () -> (ChatRoom, Int) in
                let listener = try Socket.listening(on: at, reusePort: true)
                let room = ChatRoom(listening: listener, configuration: configuration)
                return (room, (try? listener.localAddress())?.port ?? 0)
            }
            made.append(room)
            port = bound
        }
        boundPort = port
        rooms = made
        // ... then link them and start accepting, each on its hub.
        for (i, hub) in runtime.hubs.enumerated() {
            let room = made[i]
            let peers = made.indices.filter { $0 != i }.map { ChatPeer(hub: runtime.hubs[$0], room: made[$0]) }
            try hub.call { [names] in
                room.peers = peers
                room.names = names
                room.hubIndex = i
                try room.start()
            }
        }
    }

    /// Starts (if needed) and blocks until the room is closed on every hub.
    /// - Throws: as `start()`; errors injected into the caller.
    /// - Note: switches. Any greenlet, on any hub or thread.
    public func serveForever() throws {
        if rooms.isEmpty { try start() }
        try onEveryHub { try $0.serveForever() }
    }

    /// Closes the room on every hub at once, as `ChatRoom.close(notice:)`:
    /// stops accepting, tells every user `notice`, gives them
    /// `farewellTimeout` to read it, then closes every connection.
    /// - Throws: errors injected into the caller while it waits.
    /// - Note: switches. Any greenlet, on any hub or thread.
    public func close(notice: String = "## The room is closing.") throws {
        try onEveryHub { room in
            try room.close(notice: notice)
            // The rooms refer to each other: let them go.
            room.peers = []
        }
    }

    /// Runs `body` with each hub's room on that hub, all at once; waits for all.
    private func onEveryHub(_ body: @escaping (ChatRoom) throws -> Void) throws {
        let rooms = self.rooms
        let work = try rooms.indices.map { i in
            try runtime.spawn(on: .hub(i)) { try body(rooms[i]) }
        }
        try joinAll(work)
        for g in work { if let e = g.error { throw e } }
    }
}
