/// A message's body and properties, as published or received.
public struct AMQPMessage: Equatable, Sendable {
    /// The payload.
    public var body: [UInt8]
    /// The properties (content type, headers, correlation id...).
    public var properties: AMQPProperties

    /// A message of `body` with `properties`.
    public init(body: [UInt8], properties: AMQPProperties = AMQPProperties()) {
        self.body = body
        self.properties = properties
    }

    /// The body as UTF-8 text (invalid bytes as U+FFFD).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A message the broker delivered (`basic.deliver` to a consumer or
/// `basic.get-ok`): settle it with `ack()`, `nack(requeue:)` or `reject(requeue:)`
/// unless it was consumed with `noAck`.
///
/// Thread-safety: hub-local, like its channel.
public struct AMQPDelivery {
    /// The broker's tag for this delivery on its channel.
    public let deliveryTag: UInt64
    /// Whether the broker delivered it before (to a consumer that did not ack).
    public let redelivered: Bool
    /// The exchange it was published to ("" for the default exchange).
    public let exchange: String
    /// The routing key it was published with.
    public let routingKey: String
    /// The body and properties.
    public let message: AMQPMessage
    /// The channel that received it: acks go back through it.
    public let channel: AMQPChannel

    /// The body.
    public var body: [UInt8] { message.body }
    /// The properties.
    public var properties: AMQPProperties { message.properties }

    /// Acknowledges it: the broker forgets the message.
    /// - Throws: `AMQPChannelError` when its channel has ended (the broker then
    ///   delivers the message again, to someone: at least once).
    /// - Note: may switch (sending). Same hub only.
    public func ack() throws { try channel.ack(deliveryTag) }

    /// Refuses it: `requeue` puts it back in its queue, else the broker drops
    /// it or dead-letters it (the queue's `x-dead-letter-exchange`).
    /// - Throws: as `ack()`.
    /// - Note: may switch.
    public func nack(requeue: Bool = true) throws { try channel.nack(deliveryTag, requeue: requeue) }

    /// `basic.reject` of this one delivery; see `nack(requeue:)`.
    /// - Throws: as `ack()`.
    /// - Note: may switch.
    public func reject(requeue: Bool = true) throws { try channel.reject(deliveryTag, requeue: requeue) }
}

/// A `mandatory` message the broker could not route (`basic.return`).
public struct AMQPReturnedMessage: Sendable {
    /// The broker's reply code (312 NO_ROUTE).
    public let replyCode: UInt16
    /// The broker's reply text ("NO_ROUTE").
    public let replyText: String
    /// The exchange it was published to.
    public let exchange: String
    /// The routing key it was published with.
    public let routingKey: String
    /// The message itself.
    public let message: AMQPMessage
}
