extension AMQPChannel {
    /// Turns publisher confirms on: from now on every publish gets an
    /// `AMQPConfirmation` the broker settles (`basic.ack` / `basic.nack`).
    /// - Throws: `AMQPChannelError`; injected errors.
    /// - Note: switches. Same hub only.
    public func confirmSelect() throws {
        if isConfirmMode { return }
        _ = try rpc(.confirmSelect(noWait: false), expecting: [(85, 11)])
        isConfirmMode = true
    }

    /// Publishes a message (`basic.publish`, its header and body frames, in one write).
    ///
    /// Does not wait for the broker. In confirm mode the returned confirmation
    /// tells the outcome (`wait(timeout:)`); otherwise nil, and a message the
    /// broker could not take is lost silently (AMQP's fire-and-forget).
    /// - Parameters:
    ///   - exchange: "" is the default exchange, which routes to the queue named `routingKey`.
    ///   - mandatory: an unroutable message comes back (`onReturn`, and the
    ///     confirmation fails with `.returned`) instead of vanishing.
    /// - Throws: `AMQPChannelError` when the channel or connection has ended; injected errors.
    /// - Note: may switch: waits while the connection's outgoing buffer holds
    ///   `outgoingBufferLimit` bytes (the socket is full, e.g. while the broker
    ///   blocks publishing). Same hub only.
    @discardableResult
    public func publish(_ body: [UInt8], exchange: String = "", routingKey: String,
                        properties: AMQPProperties = AMQPProperties(), mandatory: Bool = false) throws -> AMQPConfirmation? {
        if let closeReason { throw closeReason }
        do {
            try connection.waitForOutboxRoom()
        } catch let e as AMQPConnectionError {
            throw AMQPChannelError.connectionClosed(e)
        }
        // It may have ended while this waited.
        if let closeReason { throw closeReason }
        var w = WireWriter(capacity: body.count + 128)
        Frame.method(channel: id, .basicPublish(exchange: exchange, routingKey: routingKey, mandatory: mandatory, immediate: false))
            .encode(into: &w)
        Frame.header(channel: id, classId: 60, bodySize: UInt64(body.count), properties: properties).encode(into: &w)
        let chunk = max(1, connection.frameMax - Frame.overhead)
        var offset = 0
        while offset < body.count {
            let n = min(chunk, body.count - offset)
            Frame.body(channel: id, Array(body[offset..<offset + n])).encode(into: &w)
            offset += n
        }
        var confirmation: AMQPConfirmation?
        if isConfirmMode {
            let c = AMQPConfirmation(sequence: nextSequence, message: AMQPMessage(body: body, properties: properties),
                                     exchange: exchange, routingKey: routingKey)
            nextSequence += 1
            unconfirmed.append(c)
            confirmation = c
        }
        do {
            try connection.write(w.bytes)
        } catch let e as AMQPConnectionError {
            // The connection ending has settled the confirmation as unconfirmed already.
            throw AMQPChannelError.connectionClosed(e)
        }
        return confirmation
    }

    /// Publishes and waits for the broker's confirm (turning confirms on first if needed).
    /// - Throws: `AMQPPublishError` (`nacked`, `returned`, `unconfirmed`,
    ///   `confirmTimedOut`); `AMQPChannelError`; injected errors.
    /// - Note: switches. Same hub only.
    public func publishConfirmed(_ body: [UInt8], exchange: String = "", routingKey: String,
                                 properties: AMQPProperties = AMQPProperties(), mandatory: Bool = false,
                                 timeout: Duration? = nil) throws {
        try confirmSelect()
        try publish(body, exchange: exchange, routingKey: routingKey, properties: properties, mandatory: mandatory)!
            .wait(timeout: timeout)
    }

    /// Publishes still waiting for the broker's confirm, oldest first.
    public var unconfirmedPublishes: [AMQPConfirmation] { Array(unconfirmed) }
}
