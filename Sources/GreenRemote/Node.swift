import Foundation
import Green
import GreenActors
import GreenAMQP
import Logging

/// A process's membership in a cluster of nodes joined by one broker: it
/// hosts actors under names and reaches actors of other nodes by name.
///
/// ```swift
/// let node = try Node.join(name: "pong", broker: "amqp://127.0.0.1")
/// try node.register(Ponger(), as: "ponger")
/// // another process:
/// let ponger = node.ref("ponger", on: "pong", as: Ball.self)
/// try ponger.send(.ping(1))
/// ```
///
/// On the broker: a direct exchange `green.remote` routes to each node's
/// inbox queue `green.node.NAME` (exclusive: it goes with the node's
/// connection), bound by the node's name; a fanout exchange
/// `green.presence` carries every node's presence beat and "actor ended"
/// notices to every inbox. One greenlet consumes the inbox and dispatches.
///
/// Failure detection, the stated bound: a node beats every `beat`
/// (default 250 ms); a watched node not heard from for `downAfter` (default
/// 2 s) is down, checked every `beat`. So a node that vanishes (killed,
/// connection lost, broker unreachable from it) is reported down to local
/// watchers within `downAfter + beat` (2.25 s by default) after its last
/// beat. A node that leaves (`leave()`) or whose actor ends says so at once.
/// Down means: proxies of its actors end with `RemoteDown` (monitors get
/// `.down`, links their exit), and asks waiting on it fail with `RemoteError.down`.
///
/// Order: one node's sends to one actor arrive in order (one channel to the
/// broker, one queue, one dispatcher). Delivery is at most once, as Erlang's
/// `!`: what is on the way when a node goes is lost, and nothing is ever
/// delivered twice (the inbox is consumed without acks, and a node that
/// reconnects gets a new, empty inbox: messages are never redelivered). Use
/// `RemoteQueue` for at least once (which may deliver twice after a
/// reconnect: see `AMQPClient`).
///
/// Sends and asks are published `mandatory`: one to a node that has no
/// inbox on the broker (never joined, left, connection gone) comes back,
/// becomes a dead letter here with the reason, and marks that node down at
/// once (an ask to it fails with `RemoteError.down` without waiting for its
/// timeout or for `downAfter`).
///
/// Thread-safety: hub-local. Join, send, ask and register on one hub; local
/// actors it delivers to may run on any hub (their `send` crosses hubs).
public final class Node {
    /// The node's name, unique among the broker's nodes.
    public let name: String
    /// The client it talks to the broker through.
    public let client: AMQPClient
    /// How it encodes what it sends.
    public let encoding: RemoteEncoding
    /// The presence beat interval.
    public let beat: Duration
    /// Silence after which a watched node counts as down.
    public let downAfter: Duration
    /// Messages that could not be delivered to local actors, oldest first (the last 1000).
    public private(set) var deadLetters: [RemoteDeadLetter] = []

    static let exchange = "green.remote"
    static let presence = "green.presence"
    static let nodeKey = CodingUserInfoKey(rawValue: "green.remote.node")!
    static let logger = Logger(label: "green.remote")

    private var actors: [String: (AMQPDelivery, [CodingUserInfoKey: Any]) throws -> Void] = [:]
    var pendingAsks: [String: (node: String, actor: String, result: AsyncResult<AMQPDelivery>)] = [:]
    var proxies: [String: [String: RemoteProxy]] = [:]
    private var lastSeen: [String: ContinuousClock.Instant] = [:]
    var downNodes: [String: String] = [:]
    private var helpers: [AnyGreenlet] = []
    var askCounter = 0
    /// Factories other nodes may start actors from (`spawnable`), by kind.
    var factories: [String: (String) throws -> Void] = [:]
    /// How to end actors started here for other nodes, by registered name.
    var stoppers: [String: (ExitReason) -> Void] = [:]
    /// Numbers the remote children this node starts elsewhere.
    var childIncarnation = 0
    private var left = false
    lazy var box = NodeBox(self)
    let codec: RemoteCodec

    private init(name: String, client: AMQPClient, encoding: RemoteEncoding, beat: Duration, downAfter: Duration) {
        self.name = name
        self.client = client
        self.encoding = encoding
        codec = RemoteCodec(encoding)
        self.beat = beat
        self.downAfter = downAfter
    }

    /// The inbox queue of node `name`.
    static func inbox(_ name: String) -> String { "green.node.\(name)" }

    /// Joins the broker at `broker` as `name`.
    /// - Throws: `AMQPConnectionError` (no broker); `AMQPChannelError` 405 when
    ///   a live node already has that name; injected errors.
    /// - Note: switches. The node lives on the calling hub.
    public static func join(name: String, broker: String, encoding: RemoteEncoding = .json,
                            beat: Duration = .milliseconds(250), downAfter: Duration = .seconds(2)) throws -> Node {
        var config = try AMQPConfiguration(url: broker)
        config.connectionName = "green node \(name)"
        let client = try AMQPClient.connect(config, backoff: Backoff(initial: .milliseconds(50), maximum: .seconds(2)))
        let node = Node(name: name, client: client, encoding: encoding, beat: beat, downAfter: downAfter)
        client.onReturn = { [weak node] in node?.returned($0) }
        do {
            try node.start()
        } catch {
            try? client.close()
            throw error
        }
        return node
    }

    private func start() throws {
        try client.declareExchange(Self.exchange, kind: .direct, durable: true)
        try client.declareExchange(Self.presence, kind: .fanout, durable: true)
        try client.declareQueue(Self.inbox(name), exclusive: true, autoDelete: true)
        try client.bind(queue: Self.inbox(name), exchange: Self.exchange, routingKey: name)
        try client.bind(queue: Self.inbox(name), exchange: Self.presence)
        let inbox = try client.consume(queue: Self.inbox(name), noAck: true)
        helpers.append(spawn(name: "node-\(name)-dispatch") { [self] in
            while let d = try inbox.next() { dispatch(d) }
        })
        helpers.append(spawn(name: "node-\(name)-beat") { [self] in
            while !left {
                try? publish(presence: "beat", headers: [:])
                checkWatchedNodes()
                try sleep(beat)
            }
        })
    }

    // MARK: Hosting

    /// Makes `actor` reachable from other nodes as `actorName`. When it ends,
    /// nodes watching it hear so at once.
    /// - Throws: `RemoteError.nameTaken`.
    /// - Note: does not switch. On the node's hub; the actor may live on any hub.
    public func register<Message: Codable>(_ actor: GreenActor<Message>, as actorName: String) throws {
        if actors[actorName] != nil { throw RemoteError.nameTaken(actorName) }
        actors[actorName] = { [codec] delivery, userInfo in
            let message = try codec.decode(Message.self, from: delivery.body,
                                                    contentType: delivery.properties.contentType, userInfo: userInfo)
            actor.tell(message)
        }
        let hub = Hub.current
        actor.link { [weak self] dead in
            let exit = ExitReason(of: dead)
            let reason = "actor ended: \(exit)"
            let how = exit.isNormal ? "normal" : (exit.isExpected ? "shutdown" : "abnormal")
            _ = hub.runThreadsafe { [weak self] in
                guard let self else { return }
                self.actors[actorName] = nil
                self.stoppers[actorName] = nil
                spawn {
                    try? self.publish(presence: "ended", headers: ["actor": .string(actorName), "reason": .string(reason),
                                                                   "exit": .string(how)])
                }
            }
        }
    }

    /// Stops making `actorName` reachable (the actor goes on locally).
    public func unregister(_ actorName: String) { actors[actorName] = nil }

    // MARK: Reaching others

    /// The actor registered as `actor` on node `node` (nothing is checked until it is used).
    public func ref<Message: Codable>(_ actor: String, on node: String, as: Message.Type = Message.self) -> RemoteActorRef<Message> {
        RemoteActorRef(via: self, node: node, actor: actor)
    }

    func send<Message: Codable>(_ message: Message, to actor: String, on node: String) throws {
        var p = AMQPProperties(contentType: encoding.contentType,
                               headers: ["to": .string(actor), "from": .string(name)], type: "send")
        p.appId = name
        try client.publishUnconfirmed(try codec.encode(message), exchange: Self.exchange, routingKey: node, properties: p,
                                      mandatory: true)
    }

    func ask<Message: Codable, Reply: Codable>(actor: String, on node: String, timeout: Duration,
                                               _ make: (RemoteReply<Reply>) -> Message) throws -> Reply {
        if let why = downNodes[node] { throw RemoteError.down(RemoteDown(node: node, actor: actor, reason: why)) }
        askCounter += 1
        let id = "\(name)#\(askCounter)"
        let result = AsyncResult<AMQPDelivery>()
        pendingAsks[id] = (node, actor, result)
        defer { pendingAsks[id] = nil }
        watch(node)
        let message = make(RemoteReply(node: name, correlationId: id))
        let p = AMQPProperties(contentType: encoding.contentType, headers: ["to": .string(actor), "from": .string(name)],
                               correlationId: id, replyTo: name, type: "ask")
        try client.publishUnconfirmed(try codec.encode(message), exchange: Self.exchange, routingKey: node, properties: p,
                                      mandatory: true)
        let delivery: AMQPDelivery
        do {
            delivery = try result.get(timeout: timeout)
        } catch is Timeout where !result.isReady {
            throw RemoteError.askTimedOut(node: node, actor: actor, timeout: timeout)
        }
        do {
            return try codec.decode(Reply.self, from: delivery.body, contentType: delivery.properties.contentType,
                                             userInfo: [:])
        } catch {
            throw RemoteError.undecodableReply("\(error)")
        }
    }

    func sendReply<Value: Codable>(_ value: Value, to node: String, correlationId: String) {
        let p = AMQPProperties(contentType: encoding.contentType, headers: ["from": .string(name)],
                               correlationId: correlationId, type: "reply")
        do {
            try client.publishUnconfirmed(try codec.encode(value), exchange: Self.exchange, routingKey: node, properties: p)
        } catch {
            Self.logger.warning("reply to '\(node)' lost: \(error)")
        }
    }

    // MARK: Watching

    func proxy(for actor: String, on node: String) -> AnyGreenlet {
        if let existing = proxies[node]?[actor], !existing.isDead { return existing }
        let p = RemoteProxy(node: node, actor: actor)
        proxies[node, default: [:]][actor] = p
        try! p.start()
        watch(node)
        if let why = downNodes[node] { p.end(RemoteDown(node: node, actor: actor, reason: why)) }
        return p
    }

    /// Starts the silence clock of `node` if it has none (a node never heard from is down after `downAfter`).
    func watch(_ node: String) {
        if lastSeen[node] == nil { lastSeen[node] = .now }
    }

    private func checkWatchedNodes() {
        let now = ContinuousClock.now
        for (node, seen) in lastSeen where downNodes[node] == nil && now - seen > downAfter {
            if proxies[node]?.isEmpty ?? true, !pendingAsks.values.contains(where: { $0.node == node }) { continue }
            nodeDown(node, why: "node vanished (not heard from for \(downAfter))")
        }
    }

    private func nodeDown(_ node: String, why: String) {
        downNodes[node] = why
        for (actor, p) in proxies[node] ?? [:] { p.end(RemoteDown(node: node, actor: actor, reason: why)) }
        proxies[node] = nil
        for (_, ask) in pendingAsks where ask.node == node {
            try? ask.result.set(error: RemoteError.down(RemoteDown(node: node, actor: ask.actor, reason: why)))
        }
    }

    // MARK: The inbox

    private func dispatch(_ d: AMQPDelivery) {
        let from = d.properties.headers?["from"]?.string ?? d.properties.appId ?? "?"
        switch d.properties.type {
        case "send", "ask":
            let to = d.properties.headers?["to"]?.string ?? ""
            guard let deliver = actors[to] else { return deadLetter(to: to, from: from, "no such actor", d.body) }
            do {
                try deliver(d, [Self.nodeKey: box])
            } catch {
                deadLetter(to: to, from: from, "does not decode: \(error)", d.body)
            }
        case "reply":
            if let id = d.properties.correlationId, let ask = pendingAsks.removeValue(forKey: id) {
                try? ask.result.set(d)
            }
        case "beat":
            lastSeen[from] = .now
            if downNodes.removeValue(forKey: from) != nil { Self.logger.info("node '\(from)' is back") }
        case "ended":
            let actor = d.properties.headers?["actor"]?.string ?? ""
            let reason = d.properties.headers?["reason"]?.string ?? "ended"
            let how = d.properties.headers?["exit"]?.string
            if let p = proxies[from]?.removeValue(forKey: actor) { p.end(RemoteDown(node: from, actor: actor, reason: reason), how: how) }
        case "spawn", "stop":
            handleChildRequest(d, from: from)
        case "bye":
            if from != name { nodeDown(from, why: "node left") }
        default:
            deadLetter(to: "?", from: from, "unknown message type \(d.properties.type ?? "nil")", d.body)
        }
    }

    /// A send or ask the broker could not route: no inbox is bound for its
    /// node, so the node is not there (never joined, left, or its connection
    /// is gone). The message is a dead letter here; the node counts as down
    /// at once (its proxies end, asks to it fail) until it is heard again.
    func returned(_ r: AMQPReturnedMessage) {
        let node = r.routingKey
        let actor = r.message.properties.headers?["to"]?.string ?? "?"
        let why = "node '\(node)' is not reachable (the broker returned the message: \(r.replyCode) \(r.replyText))"
        deadLetter(to: actor, from: name, why, r.message.body)
        if downNodes[node] == nil { nodeDown(node, why: why) }
    }

    private func deadLetter(to actor: String, from: String, _ reason: String, _ body: [UInt8]) {
        let letter = RemoteDeadLetter(actor: actor, from: from, reason: reason, body: body)
        deadLetters.append(letter)
        if deadLetters.count > 1000 { deadLetters.removeFirst(deadLetters.count - 1000) }
        DeadLetters.post(to: actor, letter, why: reason)
    }

    func publish(presence type: String, headers: FieldTable) throws {
        var h = headers
        h["from"] = .string(name)
        try client.publishUnconfirmed([], exchange: Self.presence, routingKey: "", properties: AMQPProperties(headers: h, type: type))
    }

    // MARK: Leaving

    /// Leaves: tells the other nodes (their watchers see this node down at
    /// once), shuts down the actors it started for remote supervisors, stops
    /// the helpers, closes the connection.
    /// - Note: switches. On the node's hub.
    public func leave() throws {
        if left { return }
        left = true
        try? publish(presence: "bye", headers: [:])
        // Actors started here for remote supervisors go with the node (their
        // supervisors see it leave and start them elsewhere).
        for stop in stoppers.values { stop(.shutdown) }
        stoppers = [:]
        for g in helpers where g !== AnyGreenlet.current { try? g.kill(block: false) }
        try client.close()
    }
}

/// The local stand-in of a remote actor: parks until told the actor is down,
/// then ends with `RemoteDown`.
///
/// A supervisor's remote child (`stopRemote` set) ends normally when the
/// remote actor did, else with `RemoteDown`; and when the
/// supervisor shuts it down or kills it, asks the remote node to do the
/// same to the actor and, for a shutdown, waits for the actor's end notice.
final class RemoteProxy: Greenlet<Void> {
    private let down = AsyncResult<RemoteDown>()
    private var endedAs: String?
    let stopRemote: ((ExitReason) -> Void)?

    init(node: String, actor: String, stopRemote: ((ExitReason) -> Void)? = nil) {
        self.stopRemote = stopRemote
        super.init(name: "remote:\(node)/\(actor)")
    }

    override func run() throws {
        guard let stopRemote else { throw try down.get() }
        let why: RemoteDown
        do {
            why = try down.get()
        } catch let e as ActorExit {
            stopRemote(e.reason)
            if case .killed = e.reason { throw e }
            do { _ = try down.get() } catch let again as ActorExit {
                stopRemote(.killed)
                throw again
            }
            throw e
        }
        // Shut down there by someone else: not this supervisor's request, so
        // not expected here (RemoteDown, restarted even when transient).
        if endedAs == "normal" { return }
        throw why
    }

    func end(_ why: RemoteDown, how: String? = nil) {
        if !down.isReady { endedAs = how }
        try? down.set(why)
    }
}
