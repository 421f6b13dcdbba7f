import Green
import Logging

/// A connection that comes back: `AMQPClient` keeps one `AMQPConnection`
/// open, reconnecting with backoff when it ends for any reason but `close()`,
/// and re-declares what the program declared through it (exchanges, queues,
/// bindings, in order) and resumes its consumers before anything else runs.
///
/// ```swift
/// let client = try AMQPClient.connect(try AMQPConfiguration(url: "amqp://127.0.0.1"))
/// try client.declareQueue("jobs", durable: true)
/// try client.publish(Array("hello".utf8), routingKey: "jobs")   // waits for the broker's confirm
/// let jobs = try client.consume(queue: "jobs", prefetch: 10)
/// ```
///
/// Delivery guarantees:
/// - Publishes go through a channel in confirm mode. One that was written but
///   not confirmed when the connection went is *reported*: its
///   `AMQPConfirmation` fails with `AMQPPublishError.unconfirmed`,
///   `publish(...)` throws it, and `unconfirmedOnLastDisconnect` lists it.
///   Nothing is retried behind the caller's back: publishing it again is at
///   least once (the broker may have taken it).
/// - Consumers keep their `deliveries` queue across reconnects. A delivery
///   received before the disconnect can no longer be acked (its ack throws
///   `AMQPChannelError.connectionClosed`); the broker delivers it again, with
///   `redelivered` set: at least once.
///
/// While disconnected, calls wait for the reconnection up to
/// `operationTimeout`, then throw the last connection error.
///
/// Thread-safety: hub-local. The supervising greenlet runs on the hub that
/// called `connect`; use the client there.
public final class AMQPClient {
    /// The broker and tuning.
    public let configuration: AMQPConfiguration
    /// Reconnection delays.
    public let backoff: Backoff
    /// How long a call waits for a reconnection before it throws.
    public var operationTimeout: Duration = .seconds(30)
    /// The connection in use (nil while reconnecting).
    public private(set) var connection: AMQPConnection?
    /// Reconnections so far.
    public private(set) var reconnectCount = 0
    /// The error that ended the last connection.
    public private(set) var lastDisconnectReason: AMQPConnectionError?
    /// Publishes that were unconfirmed when the last connection ended, oldest first.
    public private(set) var unconfirmedOnLastDisconnect: [AMQPConfirmation] = []
    /// Called on this hub after each reconnection, once topology and consumers are back (must not block).
    public var onReconnect: (() -> Void)?
    /// Called on this hub when a connection ends, with the publishes it left unconfirmed (must not block).
    public var onDisconnect: ((AMQPConnectionError, [AMQPConfirmation]) -> Void)?
    /// Called on this hub for each `mandatory` message published with
    /// `publishUnconfirmed` that the broker returned as unroutable (no queue
    /// bound for its routing key). Must not block.
    public var onReturn: ((AMQPReturnedMessage) -> Void)?

    private var topology = Topology()
    private var control: AMQPChannel?
    private var publisher: AMQPChannel?
    private var fireAndForget: AMQPChannel?
    private var consumers: [AMQPClientConsumer] = []
    private let connected = Event()
    private var closed = false
    private var supervisor: Greenlet<Void>?
    static let logger = Logger(label: "green.amqp.client")

    private init(configuration: AMQPConfiguration, backoff: Backoff) {
        self.configuration = configuration
        self.backoff = backoff
    }

    /// Connects (the first time without retrying) and starts supervising.
    /// - Throws: as `AMQPConnection.connect`.
    /// - Note: switches. Same hub as every later use.
    public static func connect(_ configuration: AMQPConfiguration, backoff: Backoff = Backoff()) throws -> AMQPClient {
        let client = AMQPClient(configuration: configuration, backoff: backoff)
        try client.adopt(try AMQPConnection.connect(configuration))
        client.supervisor = spawn(name: "amqp-client") { [weak client] in try client?.supervise() }
        return client
    }

    /// Connects to `url`; see `connect(_:backoff:)`.
    public static func connect(url: String, backoff: Backoff = Backoff()) throws -> AMQPClient {
        try connect(try AMQPConfiguration(url: url), backoff: backoff)
    }

    /// Whether a connection is up now.
    public var isConnected: Bool { connection?.isOpen ?? false }

    // MARK: Reconnecting

    /// Takes a fresh connection into use: channels, topology, consumers.
    private func adopt(_ c: AMQPConnection) throws {
        do {
            let control = try c.openChannel()
            try topology.replay(on: control)
            let publisher = try c.openChannel()
            try publisher.confirmSelect()
            for consumer in consumers where !consumer.cancelled { try consumer.resume(on: c) }
            self.control = control
            self.publisher = publisher
            connection = c
            connected.set()
        } catch {
            c.abort()
            throw error
        }
    }

    private func supervise() throws {
        while !closed {
            guard let c = connection else { return }
            let reason = try c.waitUntilEnded() ?? .connectionLost
            if closed { return }
            connected.clear()
            connection = nil
            lastDisconnectReason = reason
            unconfirmedOnLastDisconnect = publisher?.unconfirmedPublishes ?? []
            unconfirmedOnLastDisconnect.removeAll { $0.isSettled && !(publisherFailedUnconfirmed($0)) }
            Self.logger.warning("AMQP connection lost (\(reason)); \(unconfirmedOnLastDisconnect.count) publishes unconfirmed; reconnecting")
            onDisconnect?(reason, unconfirmedOnLastDisconnect)
            var failures = 0
            while !closed {
                try sleep(backoff.delay(after: failures))
                do {
                    try adopt(try AMQPConnection.connect(configuration))
                    reconnectCount += 1
                    Self.logger.info("AMQP reconnected after \(failures + 1) attempt(s)")
                    onReconnect?()
                    break
                } catch let e as AMQPConnectionError {
                    lastDisconnectReason = e
                    failures += 1
                } catch let e as AMQPChannelError {
                    if case .connectionClosed(let ce) = e { lastDisconnectReason = ce }
                    failures += 1
                }
            }
        }
    }

    private func publisherFailedUnconfirmed(_ c: AMQPConfirmation) -> Bool {
        do { try c.wait(timeout: .zero); return false } catch AMQPPublishError.unconfirmed { return true } catch { return false }
    }

    /// Waits for a connection, up to `operationTimeout`.
    private func live() throws -> AMQPConnection {
        if closed { throw AMQPConnectionError.closedByClient }
        if let c = connection, c.isOpen { return c }
        if try !connected.wait(timeout: operationTimeout) || connection == nil {
            throw lastDisconnectReason ?? AMQPConnectionError.connectionLost
        }
        return connection!
    }

    /// Runs `body` on the control channel (opened again after a channel error),
    /// retrying once a reconnection is done when the connection drops meanwhile.
    private func onControl<T>(_ body: (AMQPChannel) throws -> T) throws -> T {
        let deadline = ContinuousClock.now + operationTimeout
        while true {
            let c = try live()
            if control == nil || control!.closeReason != nil { control = try c.openChannel() }
            do {
                return try body(control!)
            } catch AMQPChannelError.connectionClosed(let reason) {
                if ContinuousClock.now >= deadline { throw reason }
                try sleep(.milliseconds(10))
            }
        }
    }

    // MARK: Topology (recorded, replayed after a reconnect)

    /// Declares an exchange now and after every reconnect.
    /// - Throws: `AMQPChannelError` (406...); the connection error when no
    ///   reconnection came within `operationTimeout`; injected errors.
    /// - Note: switches. Same hub only.
    public func declareExchange(_ name: String, kind: ExchangeKind = .direct, durable: Bool = false,
                                autoDelete: Bool = false, arguments: FieldTable = [:]) throws {
        try onControl { try $0.exchangeDeclare(name, kind: kind, durable: durable, autoDelete: autoDelete, arguments: arguments) }
        topology.record(.exchange(name: name, kind: kind, durable: durable, autoDelete: autoDelete, arguments: arguments))
    }

    /// Declares a queue now and after every reconnect; "" is not allowed here
    /// (a broker-named queue would change name on reconnect).
    /// - Throws: as `declareExchange`.
    /// - Note: switches.
    @discardableResult
    public func declareQueue(_ name: String, durable: Bool = false, exclusive: Bool = false, autoDelete: Bool = false,
                             arguments: FieldTable = [:]) throws -> DeclaredQueue {
        precondition(!name.isEmpty, "AMQPClient.declareQueue needs a name (it is declared again after a reconnect)")
        let q = try onControl {
            try $0.queueDeclare(name, durable: durable, exclusive: exclusive, autoDelete: autoDelete, arguments: arguments)
        }
        topology.record(.queue(name: name, durable: durable, exclusive: exclusive, autoDelete: autoDelete, arguments: arguments))
        return q
    }

    /// Binds a queue now and after every reconnect.
    /// - Throws: as `declareExchange`.
    /// - Note: switches.
    public func bind(queue: String, exchange: String, routingKey: String = "", arguments: FieldTable = [:]) throws {
        try onControl { try $0.queueBind(queue, exchange: exchange, routingKey: routingKey, arguments: arguments) }
        topology.record(.binding(queue: queue, exchange: exchange, routingKey: routingKey, arguments: arguments))
    }

    /// Removes a binding, now and from what is replayed.
    /// - Throws: as `declareExchange`.
    public func unbind(queue: String, exchange: String, routingKey: String = "") throws {
        topology.forgetBinding(queue: queue, exchange: exchange, routingKey: routingKey)
        try onControl { try $0.queueUnbind(queue, exchange: exchange, routingKey: routingKey) }
    }

    /// Deletes a queue, now and from what is replayed.
    /// - Throws: as `declareExchange`.
    @discardableResult
    public func deleteQueue(_ name: String) throws -> Int {
        topology.forgetQueue(name)
        return try onControl { try $0.queueDelete(name) }
    }

    /// Deletes an exchange, now and from what is replayed.
    /// - Throws: as `declareExchange`.
    public func deleteExchange(_ name: String) throws {
        topology.forgetExchange(name)
        try onControl { try $0.exchangeDelete(name) }
    }

    /// A queue's ready message count and consumer count (a passive declare).
    /// - Throws: `AMQPChannelError.closedByBroker` 404 when it does not exist; as `declareExchange`.
    public func inspectQueue(_ name: String) throws -> DeclaredQueue {
        try onControl { try $0.queueDeclare(name, passive: true) }
    }

    // MARK: Publishing

    /// Publishes on the confirm-mode channel without waiting for the confirm.
    /// - Returns: the confirmation to wait on.
    /// - Throws: `AMQPChannelError`; the connection error when no connection
    ///   came within `operationTimeout`; injected errors.
    /// - Note: may switch. Same hub only.
    public func publishAsync(_ body: [UInt8], exchange: String = "", routingKey: String,
                             properties: AMQPProperties = AMQPProperties(), mandatory: Bool = false) throws -> AMQPConfirmation {
        _ = try live()
        if publisher == nil || publisher!.closeReason != nil {
            let p = try connection!.openChannel()
            try p.confirmSelect()
            publisher = p
        }
        return try publisher!.publish(body, exchange: exchange, routingKey: routingKey, properties: properties, mandatory: mandatory)!
    }

    /// Publishes without a confirm, on a channel of its own (AMQP's fire and
    /// forget, Erlang's `!`): the cheapest send; a message the broker does not
    /// take, or that is on the wire when the connection goes, is lost silently.
    /// Messages published this way keep their order among themselves.
    /// - Throws: as `publishAsync`.
    /// - Note: may switch. Same hub only.
    /// - Parameter mandatory: an unroutable message comes back to `onReturn`
    ///   instead of vanishing.
    public func publishUnconfirmed(_ body: [UInt8], exchange: String = "", routingKey: String,
                                   properties: AMQPProperties = AMQPProperties(), mandatory: Bool = false) throws {
        let deadline = ContinuousClock.now + operationTimeout
        while true {
            let c = try live()
            if fireAndForget == nil || fireAndForget!.closeReason != nil {
                let channel = try c.openChannel()
                channel.onReturn = { [weak self] in self?.onReturn?($0) }
                fireAndForget = channel
            }
            do {
                try fireAndForget!.publish(body, exchange: exchange, routingKey: routingKey, properties: properties,
                                           mandatory: mandatory)
                return
            } catch AMQPChannelError.connectionClosed(let reason) {
                if ContinuousClock.now >= deadline { throw reason }
                try sleep(.milliseconds(10))
            }
        }
    }

    /// Publishes and waits for the broker's confirm.
    /// - Throws: `AMQPPublishError` (`.unconfirmed` when the connection went
    ///   first: publish again for at least once; `.nacked`; `.returned`;
    ///   `.confirmTimedOut`); as `publishAsync`.
    /// - Note: switches. Same hub only.
    public func publish(_ body: [UInt8], exchange: String = "", routingKey: String,
                        properties: AMQPProperties = AMQPProperties(), mandatory: Bool = false,
                        timeout: Duration? = nil) throws {
        try publishAsync(body, exchange: exchange, routingKey: routingKey, properties: properties, mandatory: mandatory)
            .wait(timeout: timeout ?? operationTimeout)
    }

    // MARK: Consuming

    /// Subscribes to `queue` on a channel of its own with `prefetch` unacked
    /// deliveries at most; resumed after every reconnect.
    /// - Throws: `AMQPChannelError` (404 no such queue...); as `declareExchange`.
    /// - Note: switches. Same hub only.
    public func consume(queue: String, prefetch: UInt16 = 100, noAck: Bool = false,
                        exclusive: Bool = false) throws -> AMQPClientConsumer {
        let consumer = AMQPClientConsumer(queue: queue, prefetch: prefetch, noAck: noAck, exclusive: exclusive)
        let deadline = ContinuousClock.now + operationTimeout
        while true {
            let c = try live()
            do {
                try consumer.resume(on: c)
                break
            } catch AMQPChannelError.connectionClosed(let reason) {
                if ContinuousClock.now >= deadline { throw reason }
                try sleep(.milliseconds(10))
            }
        }
        consumers.append(consumer)
        return consumer
    }

    /// Takes one message from `queue` if there is one (`basic.get`).
    /// - Throws: as `declareExchange`.
    /// - Note: switches.
    public func get(queue: String, noAck: Bool = false) throws -> AMQPDelivery? {
        try onControl { try $0.get(queue: queue, noAck: noAck) }
    }

    // MARK: Closing

    /// Closes the connection gracefully and stops reconnecting. Consumers' queues close.
    /// - Throws: injected errors.
    /// - Note: switches. Same hub only.
    public func close() throws {
        if closed { return }
        closed = true
        for consumer in consumers { consumer.deliveries.close() }
        connected.set()
        try connection?.close()
        if let supervisor, supervisor !== AnyGreenlet.current { try? supervisor.kill(block: false) }
    }
}

/// A subscription of an `AMQPClient`: one `deliveries` queue that outlives
/// reconnections (see `AMQPClient` for what happens to unacked deliveries).
///
/// Thread-safety: hub-local.
public final class AMQPClientConsumer: Sequence {
    /// The queue consumed from.
    public let queue: String
    /// Unacked deliveries the broker sends at most.
    public let prefetch: UInt16
    /// Whether deliveries need no ack.
    public let noAck: Bool
    /// Whether it is the queue's only consumer.
    public let exclusive: Bool
    /// The deliveries, in order, across reconnections.
    public let deliveries = Queue<AMQPDelivery>()
    /// The subscription on the current connection.
    public private(set) var current: AMQPConsumer?
    var cancelled = false

    init(queue: String, prefetch: UInt16, noAck: Bool, exclusive: Bool) {
        self.queue = queue
        self.prefetch = prefetch
        self.noAck = noAck
        self.exclusive = exclusive
    }

    func resume(on connection: AMQPConnection) throws {
        let channel = try connection.openChannel()
        if !noAck { try channel.qos(prefetchCount: prefetch) }
        current = try channel.consume(queue: queue, tag: "", noAck: noAck, exclusive: exclusive, arguments: [:],
                                      into: deliveries, closesDeliveries: false)
    }

    /// The next delivery.
    /// - Returns: nil once cancelled or the client closed, and drained.
    /// - Throws: `QueueError.empty` when `timeout` elapsed; injected errors.
    /// - Note: switches while nothing is there.
    public func next(timeout: Duration? = nil) throws -> AMQPDelivery? {
        try deliveries.nextItem(timeout: timeout)
    }

    /// Cancels the subscription and closes its channel (unacked deliveries go back to the queue).
    /// - Throws: `AMQPChannelError`; injected errors.
    /// - Note: switches.
    public func cancel() throws {
        cancelled = true
        deliveries.close()
        if let channel = current?.channel { try channel.close() }
    }

    /// Iterates the deliveries until cancelled.
    public func makeIterator() -> QueueIterator<AMQPDelivery> { deliveries.makeIterator() }
}
