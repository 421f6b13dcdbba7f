import DequeModule
import Green

/// One AMQP channel on a connection: a lane of its own for declarations,
/// publishes, consumers and acks. Most programs use one or a few.
///
/// Methods that wait for the broker's answer (declare, bind, qos, get,
/// consume, close) are synchronous RPCs: one at a time per channel (a second
/// greenlet waits its turn). `publish`, `ack`, `nack` and `reject` never wait
/// for an answer.
///
/// Failure: a channel error (`AMQPChannelError.closedByBroker`, e.g. 404 for a
/// queue that does not exist) ends this channel only; the connection and its
/// other channels go on. Every call on an ended channel throws its
/// `closeReason`.
///
/// Thread-safety: hub-local, like its connection.
public final class AMQPChannel {
    /// The channel number.
    public let id: UInt16
    /// The connection it runs on.
    public let connection: AMQPConnection
    /// Why the channel ended; nil while open.
    public internal(set) var closeReason: AMQPChannelError?
    /// Whether publisher confirms are on (`confirmSelect()`).
    public internal(set) var isConfirmMode = false
    /// Called for each `mandatory` message the broker returns as unroutable,
    /// on the channel's hub (must not block). A publish in confirm mode also
    /// fails with `AMQPPublishError.returned`.
    public var onReturn: ((AMQPReturnedMessage) -> Void)?

    let rpcLock = Lock()
    var pendingReply: AsyncResult<(AMQPMethod, AMQPMessage?)>?
    var expectedReplies: [(UInt16, UInt16)] = []
    /// Content being assembled: the method that announced it, its properties and body so far.
    var incoming: (method: AMQPMethod, size: UInt64, properties: AMQPProperties, body: [UInt8])?
    var consumers: [String: AMQPConsumer] = [:]
    var nextSequence: UInt64 = 1
    var unconfirmed = Deque<AMQPConfirmation>()
    var pendingReturn: AMQPReturnedMessage?
    /// Consumer tags this side chose on this channel ("green.CHANNEL.N").
    var consumerNumber = 0
    private var ended = false

    init(id: UInt16, connection: AMQPConnection) {
        self.id = id
        self.connection = connection
    }

    /// Whether the channel is open.
    public var isOpen: Bool { closeReason == nil }

    func open() throws {
        _ = try rpc(.channelOpen, expecting: [(20, 11)])
    }

    // MARK: RPC

    /// Sends `method` and waits for one of `replies` (and its content, for get-ok).
    /// - Throws: the channel's `closeReason` (also when it ends meanwhile); injected errors.
    /// - Note: switches.
    func rpc(_ method: AMQPMethod, expecting replies: [(UInt16, UInt16)]) throws -> (AMQPMethod, AMQPMessage?) {
        if let closeReason { throw closeReason }
        try rpcLock.acquire()
        defer { try? rpcLock.release() }
        if let closeReason { throw closeReason }
        let slot = AsyncResult<(AMQPMethod, AMQPMessage?)>()
        pendingReply = slot
        expectedReplies = replies
        defer { if pendingReply === slot { pendingReply = nil } }
        try send(method)
        return try slot.get()
    }

    /// Sends one method frame.
    func send(_ method: AMQPMethod) throws {
        do {
            try connection.write(frame: .method(channel: id, method))
        } catch let e as AMQPConnectionError {
            throw AMQPChannelError.connectionClosed(e)
        }
    }

    // MARK: Incoming frames (the connection's reader greenlet)

    /// Handles one frame for this channel. Never switches.
    /// - Throws: `FrameError` for content out of place (a connection error).
    func handle(_ frame: Frame) throws {
        switch frame {
        case .method(_, let method):
            if incoming != nil { throw FrameError.unexpectedContent("method \(method.id) inside content") }
            if method.carriesContent {
                incoming = (method, 0, AMQPProperties(), [])
                expectHeader = true
            } else {
                try handle(method)
            }
        case .header(_, _, let size, let properties):
            guard var content = incoming, expectHeader else { throw FrameError.unexpectedContent("header without method") }
            expectHeader = false
            content.size = size
            content.properties = properties
            content.body.reserveCapacity(Int(clamping: min(size, 1 << 24)))
            incoming = content
            if size == 0 { try contentComplete() }
        case .body(_, let bytes):
            guard incoming != nil, !expectHeader else { throw FrameError.unexpectedContent("body without header") }
            incoming!.body.append(contentsOf: bytes)
            if UInt64(incoming!.body.count) > incoming!.size {
                throw FrameError.unexpectedContent("body longer than its header says")
            }
            if UInt64(incoming!.body.count) == incoming!.size { try contentComplete() }
        case .heartbeat:
            throw FrameError.badChannel(id)
        }
    }

    var expectHeader = false

    private func contentComplete() throws {
        guard let content = incoming else { return }
        incoming = nil
        let message = AMQPMessage(body: content.body, properties: content.properties)
        switch content.method {
        case .basicDeliver(let tag, let deliveryTag, let redelivered, let exchange, let routingKey):
            let delivery = AMQPDelivery(deliveryTag: deliveryTag, redelivered: redelivered, exchange: exchange,
                                        routingKey: routingKey, message: message, channel: self)
            if let consumer = consumers[tag] {
                try? consumer.deliveries.put(delivery)
            }
        case .basicGetOk:
            reply(content.method, message)
        case .basicReturn(let code, let text, let exchange, let routingKey):
            let r = AMQPReturnedMessage(replyCode: code, replyText: text, exchange: exchange, routingKey: routingKey, message: message)
            // RabbitMQ sends the return before the ack of the same publish.
            if isConfirmMode { pendingReturn = r }
            onReturn?(r)
        default:
            throw FrameError.unexpectedContent("content after \(content.method.id)")
        }
    }

    private func reply(_ method: AMQPMethod, _ message: AMQPMessage?) {
        guard let slot = pendingReply, expectedReplies.contains(where: { $0 == method.id }) else { return }
        pendingReply = nil
        try? slot.set((method, message))
    }

    private func handle(_ method: AMQPMethod) throws {
        switch method {
        case .channelClose(let code, let text, let c, let m):
            try? send(.channelCloseOk)
            end(.closedByBroker(code: code, text: text, classId: c, methodId: m))
        case .channelCloseOk:
            reply(method, nil)
            end(.closedByClient)
        case .channelFlow(let active):
            try? send(.channelFlowOk(active: active))
        case .basicAck(let tag, let multiple):
            settleConfirms(upTo: tag, multiple: multiple, error: nil)
        case .basicNack(let tag, let multiple, _):
            settleConfirms(upTo: tag, multiple: multiple, error: { .nacked(sequence: $0) })
        case .basicCancel(let tag, _):
            // The broker cancelled the consumer (its queue was deleted...).
            if let consumer = consumers.removeValue(forKey: tag) {
                consumer.ended(AMQPChannelError.unexpected("the broker cancelled consumer '\(tag)' (its queue went away)"))
            }
        case .basicCancelOk(let tag):
            if let consumer = consumers.removeValue(forKey: tag) { consumer.ended(AMQPChannelError.closedByClient) }
            reply(method, nil)
        default:
            if pendingReply != nil, expectedReplies.contains(where: { $0 == method.id }) {
                reply(method, nil)
            } else if case .basicConsumeOk = method {
                reply(method, nil)
            } else {
                throw FrameError.unexpectedContent("method \(method.id) unexpected on channel \(id)")
            }
        }
    }

    private func settleConfirms(upTo tag: UInt64, multiple: Bool, error: ((UInt64) -> AMQPPublishError)?) {
        if multiple {
            while let first = unconfirmed.first, first.sequence <= tag {
                unconfirmed.removeFirst()
                first.settle(error?(first.sequence))
            }
        } else if let i = unconfirmed.firstIndex(where: { $0.sequence == tag }) {
            let c = unconfirmed.remove(at: i)
            if let r = pendingReturn {
                c.returned = r
                pendingReturn = nil
            }
            c.settle(error?(tag))
        }
        if multiple { pendingReturn = nil }
    }

    // MARK: Ending

    /// Closes the channel (`channel.close`, then the broker's `close-ok`).
    /// Unacked deliveries go back to their queues; unconfirmed publishes fail
    /// with `.unconfirmed`; consumers end. Closing twice does nothing.
    /// - Throws: injected errors.
    /// - Note: switches. Same hub only.
    public func close() throws {
        guard closeReason == nil else { return }
        do {
            _ = try rpc(.channelClose(code: 200, text: "goodbye", classId: 0, methodId: 0), expecting: [(20, 41)])
        } catch is AMQPChannelError {}
        end(.closedByClient)
    }

    func connectionEnded(_ reason: AMQPConnectionError) {
        end(.connectionClosed(reason))
    }

    /// Ends the channel with `reason`: wakes the RPC waiter, fails unconfirmed
    /// publishes, ends consumers. Idempotent; never switches.
    func end(_ reason: AMQPChannelError) {
        guard !ended else { return }
        ended = true
        closeReason = reason
        connection.forget(self)
        if let slot = pendingReply {
            pendingReply = nil
            try? slot.set(error: reason)
        }
        let open = unconfirmed
        unconfirmed.removeAll()
        for c in open { c.settle(.unconfirmed(sequence: c.sequence, reason: "\(reason)")) }
        let subscribed = consumers.values
        consumers = [:]
        for consumer in subscribed { consumer.ended(reason) }
    }
}
