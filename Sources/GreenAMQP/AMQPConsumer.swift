import Green

/// A subscription to a queue (`basic.consume`): deliveries arrive in
/// `deliveries`, a Green `Queue`, in the broker's order. With manual acks the
/// broker sends at most the channel's prefetch (`qos`) unacked at once.
///
/// ```swift
/// let consumer = try channel.consume(queue: "jobs")
/// for delivery in consumer { try work(delivery.body); try delivery.ack() }
/// ```
///
/// The queue closes (iteration ends) when the consumer is cancelled, by this
/// program or by the broker (the queue was deleted), or when its channel
/// ends; `endReason` then says why.
///
/// Thread-safety: hub-local.
public final class AMQPConsumer: Sequence {
    /// The broker's tag for this subscription.
    public internal(set) var tag: String
    /// The queue consumed from.
    public let queue: String
    /// Whether deliveries need no ack.
    public let noAck: Bool
    /// The deliveries, in order.
    public let deliveries: Queue<AMQPDelivery>
    /// Why the subscription ended; nil while it runs.
    public internal(set) var endReason: (any Error)?
    weak var channel: AMQPChannel?
    /// Whether the end of the subscription closes `deliveries` (not for `AMQPClient`'s, which outlive channels).
    let closesDeliveries: Bool

    init(tag: String, queue: String, noAck: Bool, deliveries: Queue<AMQPDelivery>, closesDeliveries: Bool = true) {
        self.closesDeliveries = closesDeliveries
        self.tag = tag
        self.queue = queue
        self.noAck = noAck
        self.deliveries = deliveries
    }

    /// The next delivery.
    /// - Returns: nil once the subscription ended and what came is taken.
    /// - Throws: `QueueError.empty` when `timeout` elapsed; injected errors.
    /// - Note: switches while nothing is there. Same hub only.
    public func next(timeout: Duration? = nil) throws -> AMQPDelivery? {
        try deliveries.nextItem(timeout: timeout)
    }

    /// Cancels the subscription (`basic.cancel`); deliveries already
    /// received stay in `deliveries`, unacked ones go back to the queue when
    /// the channel closes.
    /// - Throws: `AMQPChannelError`; injected errors.
    /// - Note: switches. Same hub only.
    public func cancel() throws { try channel?.cancel(self) }

    /// Iterates the deliveries until the subscription ends.
    public func makeIterator() -> QueueIterator<AMQPDelivery> { deliveries.makeIterator() }

    func ended(_ reason: any Error) {
        if endReason == nil { endReason = reason }
        if closesDeliveries { deliveries.close() }
    }
}
