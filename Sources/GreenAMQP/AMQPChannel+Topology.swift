/// The kind of an exchange: how it routes.
public enum ExchangeKind: String, Sendable {
    /// To queues bound with exactly the routing key.
    case direct
    /// To every bound queue.
    case fanout
    /// To queues whose binding pattern (`a.*.c`, `a.#`) matches the routing key.
    case topic
    /// By header values.
    case headers
}

/// What `queue.declare` answers: the queue's name (chosen by the broker when
/// declared as ""), its message count and consumer count.
public struct DeclaredQueue: Equatable, Sendable {
    public let name: String
    public let messageCount: Int
    public let consumerCount: Int
}

extension AMQPChannel {
    /// Declares an exchange (creates it, or checks it exists with the same flags).
    /// - Parameters:
    ///   - passive: only check that it exists (404 otherwise).
    /// - Throws: `AMQPChannelError.closedByBroker` (406 when it exists with
    ///   other flags, 404 when passive and missing: the channel ends);
    ///   `AMQPChannelError` when ended; injected errors.
    /// - Note: switches (waits for `declare-ok`). Same hub only.
    public func exchangeDeclare(_ name: String, kind: ExchangeKind = .direct, durable: Bool = false,
                                autoDelete: Bool = false, internal: Bool = false, passive: Bool = false,
                                arguments: FieldTable = [:]) throws {
        _ = try rpc(.exchangeDeclare(name: name, type: kind.rawValue, passive: passive, durable: durable,
                                     autoDelete: autoDelete, internal: `internal`, noWait: false, arguments: arguments),
                    expecting: [(40, 11)])
    }

    /// Deletes an exchange.
    /// - Throws: as `exchangeDeclare`; 406 with `ifUnused` when it has bindings.
    /// - Note: switches.
    public func exchangeDelete(_ name: String, ifUnused: Bool = false) throws {
        _ = try rpc(.exchangeDelete(name: name, ifUnused: ifUnused, noWait: false), expecting: [(40, 21)])
    }

    /// Declares a queue; "" lets the broker name it (see the result's `name`).
    /// - Parameters:
    ///   - exclusive: only this connection may use it; deleted when it closes.
    ///   - autoDelete: deleted when its last consumer goes.
    ///   - arguments: `x-message-ttl`, `x-dead-letter-exchange`, `x-max-length`...
    /// - Throws: `AMQPChannelError.closedByBroker` (406 for other flags than an
    ///   existing queue's, 405 for another connection's exclusive queue, 404
    ///   when passive and missing); injected errors.
    /// - Note: switches.
    @discardableResult
    public func queueDeclare(_ name: String = "", durable: Bool = false, exclusive: Bool = false,
                             autoDelete: Bool = false, passive: Bool = false,
                             arguments: FieldTable = [:]) throws -> DeclaredQueue {
        let (reply, _) = try rpc(.queueDeclare(name: name, passive: passive, durable: durable, exclusive: exclusive,
                                               autoDelete: autoDelete, noWait: false, arguments: arguments),
                                 expecting: [(50, 11)])
        guard case .queueDeclareOk(let n, let messages, let consumers) = reply else {
            throw AMQPChannelError.unexpected("\(reply)")
        }
        return DeclaredQueue(name: n, messageCount: Int(messages), consumerCount: Int(consumers))
    }

    /// Binds `queue` to `exchange` for `routingKey`.
    /// - Throws: 404 when either is missing (the channel ends); injected errors.
    /// - Note: switches.
    public func queueBind(_ queue: String, exchange: String, routingKey: String = "", arguments: FieldTable = [:]) throws {
        _ = try rpc(.queueBind(queue: queue, exchange: exchange, routingKey: routingKey, noWait: false, arguments: arguments),
                    expecting: [(50, 21)])
    }

    /// Removes a binding.
    /// - Throws: as `queueBind`.
    /// - Note: switches.
    public func queueUnbind(_ queue: String, exchange: String, routingKey: String = "", arguments: FieldTable = [:]) throws {
        _ = try rpc(.queueUnbind(queue: queue, exchange: exchange, routingKey: routingKey, arguments: arguments),
                    expecting: [(50, 51)])
    }

    /// Drops every ready message of `queue`.
    /// - Returns: how many were dropped.
    /// - Throws: 404 when missing; injected errors.
    /// - Note: switches.
    @discardableResult
    public func queuePurge(_ queue: String) throws -> Int {
        let (reply, _) = try rpc(.queuePurge(queue: queue, noWait: false), expecting: [(50, 31)])
        guard case .queuePurgeOk(let n) = reply else { throw AMQPChannelError.unexpected("\(reply)") }
        return Int(n)
    }

    /// Deletes `queue` (its consumers are cancelled by the broker).
    /// - Returns: the messages it still held.
    /// - Throws: 406 with `ifUnused`/`ifEmpty` when the condition fails; injected errors.
    /// - Note: switches.
    @discardableResult
    public func queueDelete(_ queue: String, ifUnused: Bool = false, ifEmpty: Bool = false) throws -> Int {
        let (reply, _) = try rpc(.queueDelete(queue: queue, ifUnused: ifUnused, ifEmpty: ifEmpty, noWait: false),
                                 expecting: [(50, 41)])
        guard case .queueDeleteOk(let n) = reply else { throw AMQPChannelError.unexpected("\(reply)") }
        return Int(n)
    }

    /// Sets the prefetch: at most `prefetchCount` unacked deliveries to this
    /// channel's consumers at once (per consumer unless `global`). 0: no limit.
    /// - Throws: `AMQPChannelError`; injected errors.
    /// - Note: switches.
    public func qos(prefetchCount: UInt16, global: Bool = false) throws {
        _ = try rpc(.basicQos(prefetchSize: 0, prefetchCount: prefetchCount, global: global), expecting: [(60, 11)])
    }
}
