import Green
import Logging

/// One AMQP 0-9-1 connection to a broker over a green `Socket`: no thread of
/// its own. Two greenlets serve it on the caller's hub: a reader that takes
/// frames off the socket and hands them to their channels, and a heartbeat
/// greenlet that sends a heartbeat when nothing else went out for half the
/// interval and ends the connection when nothing came in for two.
///
/// ```swift
/// let connection = try AMQPConnection.connect(try AMQPConfiguration(url: "amqp://127.0.0.1"))
/// let channel = try connection.openChannel()
/// try channel.queueDeclare("jobs")
/// try channel.publish(Array("hello".utf8), routingKey: "jobs")
/// try connection.close()
/// ```
///
/// Failure: a connection error (`AMQPConnectionError`) ends the connection
/// and every channel on it: their blocked calls throw
/// `AMQPChannelError.connectionClosed(_)`, unconfirmed publishes fail with
/// `AMQPPublishError.unconfirmed`, and consumers' delivery queues close.
/// `AMQPClient` reconnects; this type does not.
///
/// Writes: frames are appended to one outgoing buffer that a third greenlet,
/// the writer, sends once the greenlets made ready before it have run. So
/// everything a hub produces in one pass (ten replies to ten deliveries read
/// in one `recv`, a burst of publishes from many greenlets) leaves in one
/// `send`, and the frames of one publish are never split by another's. The
/// buffer is bounded (`AMQPConfiguration.outgoingBufferLimit`): a publish
/// that finds it full waits until the writer has taken it (so about twice
/// the limit is held at most).
///
/// Thread-safety: hub-local. Make it, use it and close it on one hub; a
/// call from another hub or thread is a programming error.
public final class AMQPConnection {
    /// What it was made with.
    public let configuration: AMQPConfiguration
    /// The broker's `server-properties` (product, version, capabilities).
    public private(set) var serverProperties = FieldTable()
    /// The negotiated frame-max in bytes.
    public private(set) var frameMax = 131072
    /// The negotiated channel-max.
    public private(set) var channelMax: UInt16 = 2047
    /// The negotiated heartbeat interval (`.zero`: none).
    public private(set) var heartbeat: Duration = .zero
    /// Why the connection ended; nil while open.
    public private(set) var closeReason: AMQPConnectionError?
    /// Whether the broker has blocked publishing on this connection
    /// (`connection.blocked`: a memory or disk alarm); `blockedReason` says why.
    public private(set) var isBlocked = false
    /// The broker's reason for the last `connection.blocked`.
    public private(set) var blockedReason: String?

    let socket: Socket
    private let frames: FrameReader
    private var outbox: [UInt8] = []
    private var flushScheduled = false
    private let flushNeeded = Event()
    private let outboxHasRoom = Event(isSet: true)
    private var writerGreenlet: Greenlet<Void>?
    private var channels: [UInt16: AMQPChannel] = [:]
    private var lastChannelId: UInt16 = 0
    private let ended = Event()
    private let unblocked = Event(isSet: true)
    private var readerGreenlet: Greenlet<Void>?
    private var heartbeatGreenlet: Greenlet<Void>?
    private var lastReceived = ContinuousClock.now
    private var lastSent = ContinuousClock.now
    private var endHandlers: [(AMQPConnectionError) -> Void] = []
    static let logger = Logger(label: "green.amqp")

    private init(configuration: AMQPConfiguration, socket: Socket) {
        self.configuration = configuration
        self.socket = socket
        frames = FrameReader(reader: BufferedReader(socket, bufferSize: 65536))
    }

    /// Whether the connection is open (no `closeReason` yet).
    public var isOpen: Bool { closeReason == nil }

    /// Connects and performs the handshake (protocol header, PLAIN login,
    /// tune, open), then starts the reader and heartbeat greenlets on this hub.
    /// - Throws: `AMQPConnectionError`: `.socket(_)` (refused, unreachable...),
    ///   `.accessRefused` (bad user or password), `.closedByBroker` (unknown
    ///   vhost...), `.handshakeTimedOut`, `.unsupportedProtocol`,
    ///   `.protocolViolation`; injected errors.
    /// - Note: switches. Same hub as every later use.
    public static func connect(_ configuration: AMQPConfiguration = AMQPConfiguration()) throws -> AMQPConnection {
        let deadline = ContinuousClock.now + configuration.connectTimeout
        let socket: Socket
        do {
            socket = try Socket.connect(host: configuration.host, port: configuration.port, timeout: configuration.connectTimeout)
            try socket.setNoDelay()
        } catch let e as SocketError {
            throw AMQPConnectionError.socket(e)
        }
        let connection = AMQPConnection(configuration: configuration, socket: socket)
        do {
            try connection.handshake(deadline: deadline)
        } catch {
            socket.close()
            throw Self.connectionError(from: error) ?? error
        }
        connection.startServing()
        return connection
    }

    /// Connects to `url` (`amqp://user:password@host:port/vhost`).
    /// - Throws: `AMQPURLError`; as `connect(_:)`.
    /// - Note: switches.
    public static func connect(url: String) throws -> AMQPConnection {
        try connect(try AMQPConfiguration(url: url))
    }

    // MARK: Handshake

    private func handshake(deadline: ContinuousClock.Instant) throws {
        func left() throws -> Duration {
            let d = deadline - ContinuousClock.now
            if d <= .zero { throw AMQPConnectionError.handshakeTimedOut }
            return d
        }
        func next() throws -> AMQPMethod {
            let frame: Frame
            do { frame = try frames.next(timeout: try left(), checkingProtocolHeader: true) } catch SocketError.timedOut {
                throw AMQPConnectionError.handshakeTimedOut
            }
            switch frame {
            case .method(0, .connectionClose(let code, let text, let c, let m)):
                if code == 403 { throw AMQPConnectionError.accessRefused(text) }
                throw AMQPConnectionError.closedByBroker(code: code, text: text, classId: c, methodId: m)
            case .method(0, let method): return method
            case .heartbeat: return try next()
            default: throw AMQPConnectionError.protocolViolation(.unexpectedContent("frame \(frame) during the handshake"))
            }
        }
        try socket.sendAll(Array("AMQP".utf8) + [0, 0, 9, 1], timeout: try left())
        guard case .connectionStart(_, _, let props, let mechanisms, _) = try next() else {
            throw AMQPConnectionError.protocolViolation(.unexpectedContent("no connection.start"))
        }
        serverProperties = props
        if !mechanisms.split(separator: " ").contains("PLAIN") {
            throw AMQPConnectionError.closedByBroker(code: 0, text: "the broker offers no PLAIN login (\(mechanisms))", classId: 0, methodId: 0)
        }
        var client: FieldTable = [
            "product": .string("GreenAMQP"),
            "platform": .string("Swift"),
            "capabilities": .table([
                "publisher_confirms": .bool(true),
                "consumer_cancel_notify": .bool(true),
                "basic.nack": .bool(true),
                "connection.blocked": .bool(true),
                "authentication_failure_close": .bool(true),
                "exchange_exchange_bindings": .bool(true),
            ]),
        ]
        if let name = configuration.connectionName { client["connection_name"] = .string(name) }
        let response = [0] + Array(configuration.user.utf8) + [0] + Array(configuration.password.utf8)
        try write(frame: .method(channel: 0, .connectionStartOk(clientProperties: client, mechanism: "PLAIN", response: response, locale: "en_US")))
        guard case .connectionTune(let cm, let fm, let hb) = try next() else {
            throw AMQPConnectionError.protocolViolation(.unexpectedContent("no connection.tune"))
        }
        channelMax = Self.negotiate(configuration.channelMax, cm)
        frameMax = Int(Self.negotiate(configuration.frameMax, fm))
        let asked = UInt16(clamping: Int(configuration.heartbeat.components.seconds))
        let seconds = Self.negotiate(asked, hb)
        heartbeat = .seconds(Int(seconds))
        frames.frameMax = max(frameMax, 4096)
        try write(frame: .method(channel: 0, .connectionTuneOk(channelMax: channelMax, frameMax: UInt32(frameMax), heartbeat: seconds)))
        try write(frame: .method(channel: 0, .connectionOpen(vhost: configuration.virtualHost)))
        guard case .connectionOpenOk = try next() else {
            throw AMQPConnectionError.protocolViolation(.unexpectedContent("no connection.open-ok"))
        }
    }

    /// The lower of two limits where 0 means "none".
    private static func negotiate<T: FixedWidthInteger>(_ a: T, _ b: T) -> T {
        if a == 0 { return b }
        if b == 0 { return a }
        return min(a, b)
    }

    private func startServing() {
        lastReceived = .now
        readerGreenlet = spawn(name: "amqp-reader") { [self] in readLoop() }
        writerGreenlet = spawn(name: "amqp-writer") { [self] in writeLoop() }
        if heartbeat > .zero {
            heartbeatGreenlet = spawn(name: "amqp-heartbeat") { [self] in try heartbeatLoop() }
        }
    }

    // MARK: Reading

    private func readLoop() {
        while closeReason == nil {
            do {
                let frame = try frames.next()
                lastReceived = .now
                try dispatch(frame)
                // All that was read is handed out: let its takers run (and the
                // writer send their answers) before the next read parks here.
                if frames.reader.bufferedCount == 0 { try yieldGreenlet() }
            } catch {
                if closeReason != nil { return }
                let reason = Self.connectionError(from: error) ?? .connectionLost
                if case .protocolViolation(let why) = reason {
                    // Tell the broker why, if the socket still takes it (best effort, no wait).
                    let code: UInt16 = if case .unexpectedContent = why { 505 } else { 501 }
                    // Behind what is queued (frames are never split); the writer runs in the yield.
                    try? write(frame: .method(channel: 0, .connectionClose(code: code, text: "\(why)", classId: 0, methodId: 0)))
                    try? yieldGreenlet()
                }
                end(reason)
                return
            }
        }
    }

    private func dispatch(_ frame: Frame) throws {
        if frame.channel == 0 {
            switch frame {
            case .heartbeat: return
            case .method(_, let method): try handleConnectionMethod(method)
            default: throw FrameError.unexpectedContent("content on channel 0")
            }
            return
        }
        // Frames for a channel this side already forgot (closed) are dropped.
        guard let channel = channels[frame.channel] else { return }
        try channel.handle(frame)
    }

    private func handleConnectionMethod(_ method: AMQPMethod) throws {
        switch method {
        case .connectionClose(let code, let text, let c, let m):
            try? write(frame: .method(channel: 0, .connectionCloseOk))
            end(.closedByBroker(code: code, text: text, classId: c, methodId: m))
        case .connectionCloseOk:
            end(.closedByClient)
        case .connectionBlocked(let reason):
            isBlocked = true
            blockedReason = reason
            unblocked.clear()
            Self.logger.warning("the broker blocked publishing: \(reason)")
        case .connectionUnblocked:
            isBlocked = false
            unblocked.set()
        default:
            throw FrameError.unexpectedContent("method \(method.id) on channel 0")
        }
    }

    // MARK: Heartbeats

    private func heartbeatLoop() throws {
        let half = heartbeat / 2
        while closeReason == nil {
            try sleep(half)
            let now = ContinuousClock.now
            if now - lastReceived > heartbeat * 2 {
                end(.heartbeatMissed(interval: heartbeat))
                return
            }
            if now - lastSent >= half {
                try? write(frame: .heartbeat)
            }
        }
    }

    // MARK: Writing

    /// Appends `bytes` to the outgoing buffer for the writer greenlet to send
    /// (before it runs, during the handshake: sends them at once).
    /// - Throws: the connection's `closeReason`.
    /// - Note: never switches once the connection serves (switches during the handshake).
    func write(_ bytes: [UInt8]) throws {
        if let closeReason { throw closeReason }
        guard writerGreenlet != nil else {
            do {
                try socket.sendAll(bytes)
            } catch {
                let reason = Self.connectionError(from: error)
                if let reason { end(reason) }
                throw reason ?? error
            }
            lastSent = .now
            return
        }
        outbox.append(contentsOf: bytes)
        if !flushScheduled {
            flushScheduled = true
            flushNeeded.set()
        }
    }

    /// The writer greenlet: sends what was appended, whole, until the connection ends.
    private func writeLoop() {
        var chunk: [UInt8] = []
        while closeReason == nil {
            do {
                _ = try flushNeeded.wait()
                flushNeeded.clear()
                flushScheduled = false
                while !outbox.isEmpty {
                    swap(&chunk, &outbox)
                    // Publishers may refill the buffer while this chunk goes out:
                    // at most about twice the limit is held.
                    outboxHasRoom.set()
                    try socket.sendAll(chunk)
                    chunk.removeAll(keepingCapacity: true)
                    lastSent = .now
                }
            } catch {
                if closeReason == nil { end(Self.connectionError(from: error) ?? .connectionLost) }
                return
            }
        }
    }

    /// Waits while the outgoing buffer holds `outgoingBufferLimit` bytes or
    /// more (publishes call it first; control frames never wait).
    /// - Throws: the connection's `closeReason` (also when it ends meanwhile); injected errors.
    /// - Note: switches when the buffer is full.
    func waitForOutboxRoom() throws {
        while outbox.count >= configuration.outgoingBufferLimit {
            if let closeReason { throw closeReason }
            outboxHasRoom.clear()
            _ = try outboxHasRoom.wait()
        }
        if let closeReason { throw closeReason }
    }

    /// Bytes appended and not yet taken by the writer greenlet (at most
    /// `outgoingBufferLimit` plus one publish). Does not switch; same hub only.
    public var unsentByteCount: Int { outbox.count }

    func write(frame: Frame) throws {
        var w = WireWriter()
        frame.encode(into: &w)
        try write(w.bytes)
    }

    /// Waits while the broker blocks publishing (`connection.blocked`).
    /// - Returns: false when `timeout` elapsed first.
    /// - Note: may switch.
    public func waitUntilUnblocked(timeout: Duration? = nil) throws -> Bool {
        try unblocked.wait(timeout: timeout)
    }

    // MARK: Channels

    /// Opens a channel (the next free number).
    /// - Throws: the connection's `closeReason` as `AMQPChannelError.connectionClosed`;
    ///   `AMQPChannelError.noChannelNumberLeft`; injected errors.
    /// - Note: switches (waits for `channel.open-ok`). Same hub only.
    public func openChannel() throws -> AMQPChannel {
        if let closeReason { throw AMQPChannelError.connectionClosed(closeReason) }
        var id = lastChannelId
        for _ in 0..<Int(channelMax) {
            id = id >= channelMax ? 1 : id + 1
            if channels[id] == nil {
                lastChannelId = id
                let channel = AMQPChannel(id: id, connection: self)
                channels[id] = channel
                try channel.open()
                return channel
            }
        }
        throw AMQPChannelError.noChannelNumberLeft
    }

    func forget(_ channel: AMQPChannel) {
        if channels[channel.id] === channel { channels[channel.id] = nil }
    }

    // MARK: Ending

    /// Runs `handler` once when the connection ends (at once if it has), on
    /// this hub, with the reason. Must not block.
    public func onEnd(_ handler: @escaping (AMQPConnectionError) -> Void) {
        if let closeReason { handler(closeReason) } else { endHandlers.append(handler) }
    }

    /// Waits until the connection ends.
    /// - Returns: the reason, or nil when `timeout` elapsed first.
    /// - Note: switches. Same hub only.
    public func waitUntilEnded(timeout: Duration? = nil) throws -> AMQPConnectionError? {
        _ = try ended.wait(timeout: timeout)
        return closeReason
    }

    /// Closes gracefully: `connection.close`, then waits for the broker's
    /// `close-ok` (at most `timeout`), then closes the socket. Channels end
    /// with `connectionClosed(.closedByClient)`; unconfirmed publishes fail.
    /// Closing twice, or after the broker did, does nothing.
    /// - Throws: injected errors.
    /// - Note: switches. Same hub only.
    public func close(timeout: Duration = .seconds(5)) throws {
        guard closeReason == nil else { return }
        do {
            try write(frame: .method(channel: 0, .connectionClose(code: 200, text: "goodbye", classId: 0, methodId: 0)))
            _ = try ended.wait(timeout: timeout)
        } catch is AMQPConnectionError {}
        end(.closedByClient)
    }

    /// Ends the connection at once, without a word to the broker (tests, a
    /// process going down): as if the network went away.
    /// - Note: never switches.
    public func abort() { end(.closedByClient) }

    /// Ends the connection: records the reason, closes the socket, ends the
    /// channels, stops the helper greenlets. Idempotent. Never switches.
    private func end(_ reason: AMQPConnectionError) {
        guard closeReason == nil else { return }
        closeReason = reason
        if reason != .closedByClient { Self.logger.info("AMQP connection ended: \(reason)") }
        socket.close()
        let open = channels.values
        channels = [:]
        for channel in open { channel.connectionEnded(reason) }
        unblocked.set()
        outboxHasRoom.set()
        ended.set()
        for g in [readerGreenlet, heartbeatGreenlet, writerGreenlet] {
            if let g, g !== AnyGreenlet.current, !g.isDead { try? g.kill(block: false) }
        }
        let handlers = endHandlers
        endHandlers = []
        for h in handlers { h(reason) }
    }

    /// The connection error an error thrown by the socket or decoder stands for.
    static func connectionError(from error: any Error) -> AMQPConnectionError? {
        switch error {
        case let e as AMQPConnectionError: return e
        case let e as FrameError: return .protocolViolation(e)
        case let e as SocketError: return e == .closed ? .connectionLost : .socket(e)
        default: return nil
        }
    }
}
