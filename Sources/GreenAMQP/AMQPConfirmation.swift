import Green

/// The broker's answer to one publish on a channel in confirm mode:
/// `wait(timeout:)` returns once the broker has taken responsibility for the
/// message (`basic.ack`), or throws why not. Never silently dropped: if the
/// channel or connection ends first, it fails with `.unconfirmed`.
///
/// Thread-safety: hub-local (wait on the channel's hub).
public final class AMQPConfirmation {
    /// The publish's sequence number on its channel (1, 2, ...).
    public let sequence: UInt64
    /// The message, kept until the outcome is known (to publish it again).
    public private(set) var message: AMQPMessage?
    /// Where it was published.
    public let exchange: String
    /// With what routing key.
    public let routingKey: String
    let result = AsyncResult<Void>()
    /// Set when a `basic.return` came for this publish before its ack.
    var returned: AMQPReturnedMessage?

    init(sequence: UInt64, message: AMQPMessage, exchange: String, routingKey: String) {
        self.sequence = sequence
        self.message = message
        self.exchange = exchange
        self.routingKey = routingKey
    }

    /// Whether the outcome is known.
    public var isSettled: Bool { result.isReady }

    /// Waits for the broker's confirm.
    /// - Throws: `AMQPPublishError.nacked`, `.returned` (mandatory and
    ///   unroutable), `.unconfirmed` (the channel or connection ended first),
    ///   `.confirmTimedOut` (the confirm may still come); injected errors.
    /// - Note: switches until settled. Same hub only.
    public func wait(timeout: Duration? = nil) throws {
        do {
            try result.get(timeout: timeout)
        } catch is Timeout where !result.isReady {
            throw AMQPPublishError.confirmTimedOut(sequence: sequence)
        }
    }

    func settle(_ error: AMQPPublishError?) {
        guard !result.isReady else { return }
        if let error { try? result.set(error: error) } else {
            if let r = returned {
                try? result.set(error: AMQPPublishError.returned(code: r.replyCode, text: r.replyText,
                                                                 exchange: r.exchange, routingKey: r.routingKey))
            } else {
                try? result.set(())
                message = nil
            }
        }
    }
}
