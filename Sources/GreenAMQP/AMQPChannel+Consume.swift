import Green

extension AMQPChannel {
    /// Subscribes to `queue` (`basic.consume`).
    /// - Parameters:
    ///   - tag: the consumer tag; "" lets the broker choose one.
    ///   - noAck: deliveries count as acked when sent (at most once);
    ///     otherwise ack each (at least once) and set a prefetch with `qos`.
    ///   - exclusive: no other consumer on the queue.
    /// - Returns: the consumer; its `deliveries` fill as the broker sends.
    /// - Throws: `AMQPChannelError.closedByBroker` (404 no such queue, 403
    ///   exclusive elsewhere: the channel ends); injected errors.
    /// - Note: switches (waits for `consume-ok`). Same hub only.
    public func consume(queue: String, tag: String = "", noAck: Bool = false, exclusive: Bool = false,
                        arguments: FieldTable = [:]) throws -> AMQPConsumer {
        try consume(queue: queue, tag: tag, noAck: noAck, exclusive: exclusive, arguments: arguments,
                    into: Queue<AMQPDelivery>(), closesDeliveries: true)
    }

    /// `consume` into a queue of the caller's (kept across reconnects by `AMQPClient`).
    func consume(queue: String, tag: String, noAck: Bool, exclusive: Bool, arguments: FieldTable,
                 into deliveries: Queue<AMQPDelivery>, closesDeliveries: Bool) throws -> AMQPConsumer {
        // The tag is needed before consume-ok: deliveries may follow it at once.
        let chosen = tag.isEmpty ? "green.\(id).\(nextConsumerNumber())" : tag
        let consumer = AMQPConsumer(tag: chosen, queue: queue, noAck: noAck, deliveries: deliveries,
                                    closesDeliveries: closesDeliveries)
        consumer.channel = self
        consumers[chosen] = consumer
        do {
            _ = try rpc(.basicConsume(queue: queue, consumerTag: chosen, noLocal: false, noAck: noAck, exclusive: exclusive,
                                      noWait: false, arguments: arguments), expecting: [(60, 21)])
        } catch {
            consumers[chosen] = nil
            throw error
        }
        return consumer
    }

    private func nextConsumerNumber() -> Int {
        consumerNumber += 1
        return consumerNumber
    }

    /// Cancels `consumer` (`basic.cancel`, waits for `cancel-ok`).
    /// - Throws: `AMQPChannelError`; injected errors.
    /// - Note: switches.
    public func cancel(_ consumer: AMQPConsumer) throws {
        guard consumers[consumer.tag] === consumer else { return }
        _ = try rpc(.basicCancel(consumerTag: consumer.tag, noWait: false), expecting: [(60, 31)])
    }

    /// Takes one message from `queue` if there is one (`basic.get`): polling,
    /// where `consume` is pushing.
    /// - Returns: the delivery, or nil when the queue is empty.
    /// - Throws: 404 no such queue (the channel ends); injected errors.
    /// - Note: switches. Same hub only.
    public func get(queue: String, noAck: Bool = false) throws -> AMQPDelivery? {
        let (reply, message) = try rpc(.basicGet(queue: queue, noAck: noAck), expecting: [(60, 71), (60, 72)])
        guard case .basicGetOk(let tag, let redelivered, let exchange, let routingKey, _) = reply, let message else {
            return nil
        }
        return AMQPDelivery(deliveryTag: tag, redelivered: redelivered, exchange: exchange, routingKey: routingKey,
                            message: message, channel: self)
    }

    /// Acknowledges delivery `tag` (and every earlier one with `multiple`).
    /// - Throws: `AMQPChannelError` when the channel has ended. (An unknown tag
    ///   makes the broker close the channel with 406, reported at the next call.)
    /// - Note: may switch (sending).
    public func ack(_ tag: UInt64, multiple: Bool = false) throws {
        if let closeReason { throw closeReason }
        try send(.basicAck(deliveryTag: tag, multiple: multiple))
    }

    /// Refuses delivery `tag` (and every earlier one with `multiple`); see `AMQPDelivery.nack`.
    /// - Throws: as `ack`.
    /// - Note: may switch.
    public func nack(_ tag: UInt64, multiple: Bool = false, requeue: Bool = true) throws {
        if let closeReason { throw closeReason }
        try send(.basicNack(deliveryTag: tag, multiple: multiple, requeue: requeue))
    }

    /// Refuses delivery `tag` (`basic.reject`).
    /// - Throws: as `ack`.
    /// - Note: may switch.
    public func reject(_ tag: UInt64, requeue: Bool = true) throws {
        if let closeReason { throw closeReason }
        try send(.basicReject(deliveryTag: tag, requeue: requeue))
    }
}
