import Foundation
import Green

/// A queue on the broker with Green `Queue`'s API: nucleon.amqp's "remote
/// queues on the AMQP broker exposed locally with the Queue API".
///
/// ```swift
/// let jobs = try RemoteQueue<Job>(name: "jobs", client: client)
/// try jobs.put(Job(id: 1))             // returns once the broker confirmed it
/// let job = try jobs.get(timeout: .seconds(5))
/// for job in jobs { try handle(job) }  // until close()
/// ```
///
/// Items travel as JSON (`encoder`/`decoder` may be swapped, e.g. for a
/// binary property list), in persistent messages on a durable queue.
///
/// Guarantees: `put` returns once the broker confirmed the item; if the
/// connection goes first, it publishes again after the reconnection (the
/// broker may then hold it twice: at least once). `get` acks the message
/// only once it decoded, and returns it only once the ack was sent: a message
/// whose ack could not go (the connection went) comes again, so nothing is
/// lost, and an item may come twice only if the connection went after the
/// ack left (at least once). A message that does not decode is rejected
/// without requeue (to the queue's dead-letter exchange, if it has one),
/// counted in `undecodable`, and `get` goes on with the next one.
///
/// Thread-safety: hub-local, like its client.
public final class RemoteQueue<Element: Codable>: Sequence {
    /// The broker queue's name.
    public let name: String
    /// The client it goes through.
    public let client: AMQPClient
    /// How items become bytes.
    public var encoder = JSONEncoder()
    /// How bytes become items.
    public var decoder = JSONDecoder()
    /// Messages rejected because they did not decode, with the reason.
    public private(set) var undecodable: [(body: [UInt8], reason: String)] = []
    private let prefetch: UInt16
    private var consumer: AMQPClientConsumer?
    private var closed = false

    /// Declares the queue (durable unless told otherwise; declared again after reconnects).
    /// - Parameters:
    ///   - prefetch: messages the broker sends ahead to this process for `get`.
    ///   - arguments: queue arguments (`x-dead-letter-exchange`, `x-max-length`...).
    /// - Throws: as `AMQPClient.declareQueue`.
    /// - Note: switches. Same hub as the client.
    public init(name: String, client: AMQPClient, durable: Bool = true, prefetch: UInt16 = 1,
                arguments: FieldTable = [:]) throws {
        self.name = name
        self.client = client
        self.prefetch = prefetch
        try client.declareQueue(name, durable: durable, arguments: arguments)
    }

    /// Puts `item` on the broker queue and waits for the broker's confirm.
    /// - Throws: `EncodingError`; `AMQPPublishError.nacked`; the connection
    ///   error when no connection came within `timeout` (or the client's
    ///   `operationTimeout`); `QueueError.closed` after `close()`; injected errors.
    /// - Note: switches. Same hub only.
    public func put(_ item: Element, timeout: Duration? = nil) throws {
        if closed { throw QueueError.closed }
        let body = [UInt8](try encoder.encode(item))
        let deadline = ContinuousClock.now + (timeout ?? client.operationTimeout)
        var properties = AMQPProperties.persistent
        properties.contentType = "application/json"
        while true {
            do {
                try client.publish(body, routingKey: name, properties: properties, timeout: deadline - ContinuousClock.now)
                return
            } catch AMQPPublishError.unconfirmed {
                // The connection went before the confirm: publish again (at least once).
            } catch let e as AMQPChannelError {
                guard case .connectionClosed = e else { throw e }
            }
            if ContinuousClock.now >= deadline { throw client.lastDisconnectReason ?? AMQPConnectionError.connectionLost }
            try sleep(.milliseconds(10))
        }
    }

    /// Takes the next item, waiting up to `timeout` (nil: without limit).
    /// - Throws: `QueueError.empty` when nothing came in time; `QueueError.closed`
    ///   after `close()`; the client's errors; injected errors.
    /// - Note: switches while nothing is there. Same hub only.
    public func get(timeout: Duration? = nil) throws -> Element {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let consumer = try subscription()
        while true {
            let left = deadline.map { Swift.max(.zero, $0 - ContinuousClock.now) }
            guard let delivery = try consumer.next(timeout: left) else { throw QueueError.closed }
            if let item = try settle(delivery) { return item }
        }
    }

    /// Takes an item if one is there now (one received ahead, else one `basic.get`).
    /// - Throws: `QueueError.empty`; `QueueError.closed` after `close()`; the client's errors.
    /// - Note: may switch (one round trip to the broker). Same hub only.
    public func getNowait() throws -> Element {
        if closed { throw QueueError.closed }
        if let consumer {
            while let delivery = try? consumer.next(timeout: .zero) {
                if let item = try settle(delivery) { return item }
            }
        }
        while let delivery = try client.get(queue: name) {
            if let item = try settle(delivery) { return item }
        }
        throw QueueError.empty
    }

    /// Decodes, acks, returns; nil when the delivery is to be skipped.
    private func settle(_ delivery: AMQPDelivery) throws -> Element? {
        let item: Element
        do {
            item = try decoder.decode(Element.self, from: Data(delivery.body))
        } catch {
            undecodable.append((delivery.body, "\(error)"))
            try? delivery.reject(requeue: false)
            return nil
        }
        do {
            try delivery.ack()
        } catch is AMQPChannelError {
            return nil // its channel is gone: the broker delivers it again
        }
        return item
    }

    private func subscription() throws -> AMQPClientConsumer {
        if closed { throw QueueError.closed }
        if let consumer { return consumer }
        let c = try client.consume(queue: name, prefetch: prefetch)
        consumer = c
        return c
    }

    /// Messages ready on the broker queue (not counting those sent ahead to consumers).
    /// - Throws: the client's errors.
    /// - Note: switches.
    public var count: Int {
        get throws { try client.inspectQueue(name).messageCount }
    }

    /// Stops taking: the subscription is cancelled (messages sent ahead and
    /// not taken go back to the broker queue) and iteration ends.
    /// - Note: switches. Same hub only.
    public func close() throws {
        closed = true
        try consumer?.cancel()
    }

    /// Iterates with `get()` until `close()`: the seeds' `for item in queue`.
    /// An error other than the close ends the loop and is kept in `iterationError`.
    public func makeIterator() -> Iterator { Iterator(queue: self) }

    /// The error that ended the last iteration, if any.
    public private(set) var iterationError: (any Error)?

    /// Iterates a `RemoteQueue`.
    public struct Iterator: IteratorProtocol {
        let queue: RemoteQueue
        /// The next item; nil once closed or on an error (`iterationError`).
        /// - Note: switches.
        public func next() -> Element? {
            do { return try queue.get() } catch QueueError.closed { return nil } catch {
                queue.iterationError = error
                return nil
            }
        }
    }
}
