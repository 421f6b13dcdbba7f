import Green
import GreenAMQP
import Testing

/// Every test against the real broker, one at a time: some restart the
/// broker or raise its memory alarm, which every other test would feel.
@Suite(.serialized) struct BrokerTests {}

extension BrokerTests {
    @Suite struct ConnectionTests {
        @Test func connectsDeclaresPublishesGetsAndClosesGracefully() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                #expect(connection.serverProperties["product"]?.string == "RabbitMQ")
                #expect(connection.heartbeat == .seconds(10))
                let channel = try connection.openChannel()
                let q = uniqueName("get")
                try channel.queueDeclare(q, autoDelete: false)
                try channel.publish([UInt8](text: "hello"), routingKey: q, properties: AMQPProperties(contentType: "text/plain"))
                // Polling with basic.get until the message is routed (publish does not wait).
                var got: AMQPDelivery?
                while got == nil { got = try channel.get(queue: q); if got == nil { try sleep(.milliseconds(5)) } }
                #expect(got?.message.text == "hello")
                #expect(got?.properties.contentType == "text/plain")
                try got?.ack()
                #expect(try channel.get(queue: q) == nil)
                #expect(try channel.queueDelete(q) == 0)
                try connection.close()
                #expect(connection.closeReason == .closedByClient)
                #expect(throws: AMQPChannelError.connectionClosed(.closedByClient)) { try channel.queueDeclare("x") }
            }
        }

        @Test func aWrongPasswordIsAccessRefused() throws {
            try withBroker {
                var config = Broker.configuration
                config.password = "not-the-password"
                do {
                    _ = try AMQPConnection.connect(config)
                    Issue.record("connected with a wrong password")
                } catch let e as AMQPConnectionError {
                    guard case .accessRefused = e else { Issue.record("\(e)"); return }
                }
            }
        }

        @Test func anUnknownVirtualHostIsAConnectionError() throws {
            try withBroker {
                var config = Broker.configuration
                config.virtualHost = "no-such-vhost"
                do {
                    _ = try AMQPConnection.connect(config)
                    Issue.record("connected to a missing vhost")
                } catch AMQPConnectionError.closedByBroker(let code, _, _, _) {
                    #expect(code == 530)
                }
            }
        }

        /// A channel error ends the channel; the connection and its other channels go on.
        @Test func aChannelErrorEndsOnlyItsChannel() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let doomed = try connection.openChannel()
                let other = try connection.openChannel()
                do {
                    try doomed.queueDeclare(uniqueName("missing"), passive: true)
                    Issue.record("a passive declare of a missing queue succeeded")
                } catch let e as AMQPChannelError {
                    #expect(e.replyCode == 404)
                }
                #expect(!doomed.isOpen)
                #expect(throws: AMQPChannelError.self) { try doomed.queueDeclare("x") }
                #expect(connection.isOpen)
                let q = try other.queueDeclare("", exclusive: true)
                #expect(q.name.hasPrefix("amq.gen-"))
                // A redeclaration with other flags: 406, again only the channel.
                let third = try connection.openChannel()
                #expect(throws: AMQPChannelError.self) { try third.queueDeclare(q.name, durable: true, exclusive: true) }
                #expect(connection.isOpen && other.isOpen)
            }
        }

        @Test func exchangesBindAndRoute() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let channel = try connection.openChannel()
                let x = uniqueName("topic")
                try channel.exchangeDeclare(x, kind: .topic, autoDelete: false)
                let a = try channel.queueDeclare("", exclusive: true).name
                let b = try channel.queueDeclare("", exclusive: true).name
                try channel.queueBind(a, exchange: x, routingKey: "log.*")
                try channel.queueBind(b, exchange: x, routingKey: "log.error")
                try channel.publishConfirmed([UInt8](text: "info"), exchange: x, routingKey: "log.info")
                try channel.publishConfirmed([UInt8](text: "error"), exchange: x, routingKey: "log.error")
                #expect(try channel.queueDeclare(a, exclusive: true, passive: true).messageCount == 2)
                #expect(try channel.queueDeclare(b, exclusive: true, passive: true).messageCount == 1)
                #expect(try channel.get(queue: b, noAck: true)?.message.text == "error")
                try channel.queueUnbind(a, exchange: x, routingKey: "log.*")
                #expect(try channel.queuePurge(a) == 2)
                try channel.exchangeDelete(x)
            }
        }
    }

    @Suite struct PublishTests {
        @Test func confirmsSettleEveryPublish() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let channel = try connection.openChannel()
                try channel.confirmSelect()
                let q = try channel.queueDeclare("", exclusive: true).name
                let confirmations = try (0..<500).map { i in
                    try channel.publish([UInt8](text: "m\(i)"), routingKey: q)!
                }
                for c in confirmations { try c.wait(timeout: .seconds(30)) }
                #expect(confirmations.map(\.sequence) == Array(1...500))
                #expect(channel.unconfirmedPublishes.isEmpty)
                #expect(try channel.queueDeclare(q, exclusive: true, passive: true).messageCount == 500)
            }
        }

        @Test func aMandatoryUnroutableMessageIsReturned() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let channel = try connection.openChannel()
                var returned: [AMQPReturnedMessage] = []
                channel.onReturn = { returned.append($0) }
                do {
                    try channel.publishConfirmed([UInt8](text: "lost"), routingKey: uniqueName("nobody"), mandatory: true)
                    Issue.record("an unroutable mandatory publish was confirmed")
                } catch AMQPPublishError.returned(let code, _, _, _) {
                    #expect(code == 312)
                }
                #expect(returned.count == 1)
                #expect(returned.first?.message.text == "lost")
                // Not mandatory: confirmed (and dropped by the broker).
                try channel.publishConfirmed([UInt8](text: "dropped"), routingKey: uniqueName("nobody"))
            }
        }

        @Test func largeBodiesAreSplitIntoFrames() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let channel = try connection.openChannel()
                let q = try channel.queueDeclare("", exclusive: true).name
                let body = (0..<(connection.frameMax * 3 + 17)).map { UInt8(truncatingIfNeeded: $0 * 31) }
                try channel.publishConfirmed(body, routingKey: q)
                #expect(try channel.get(queue: q, noAck: true)?.body == body)
            }
        }
    }

    @Suite struct ConsumeTests {
        /// A consumer too slow for its prefetch: the broker holds the rest back
        /// until it acks, and nothing is lost or duplicated.
        @Test func prefetchBoundsASlowConsumer() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let channel = try connection.openChannel()
                let q = try channel.queueDeclare("", exclusive: true).name
                for i in 0..<10 { try channel.publishConfirmed([UInt8](text: "\(i)"), routingKey: q) }
                let consumerChannel = try connection.openChannel()
                try consumerChannel.qos(prefetchCount: 2)
                let consumer = try consumerChannel.consume(queue: q)
                let first = try #require(try consumer.next(timeout: .seconds(30)))
                let second = try #require(try consumer.next(timeout: .seconds(30)))
                // Two unacked: the broker keeps the other eight ready.
                #expect(try channel.queueDeclare(q, exclusive: true, passive: true).messageCount == 8)
                #expect(throws: QueueError.empty) { try consumer.next(timeout: .milliseconds(300)) }
                var seen = [first.message.text, second.message.text]
                try first.ack()
                try second.ack()
                while seen.count < 10 {
                    let d = try #require(try consumer.next(timeout: .seconds(30)))
                    seen.append(d.message.text)
                    try d.ack()
                }
                #expect(seen == (0..<10).map { "\($0)" })
                try consumer.cancel()
                #expect(try consumer.next() == nil)
            }
        }

        @Test func unackedDeliveriesComeBackRedelivered() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let setup = try connection.openChannel()
                let q = uniqueName("redeliver")
                try setup.queueDeclare(q, autoDelete: false)
                defer { _ = try? setup.queueDelete(q) }
                try setup.publishConfirmed([UInt8](text: "again"), routingKey: q)
                let first = try connection.openChannel()
                let d = try #require(try first.consume(queue: q).next(timeout: .seconds(30)))
                #expect(!d.redelivered)
                try first.close() // unacked: back to the queue
                #expect(throws: AMQPChannelError.closedByClient) { try d.ack() }
                let second = try connection.openChannel()
                let again = try #require(try second.consume(queue: q).next(timeout: .seconds(30)))
                #expect(again.redelivered)
                #expect(again.message.text == "again")
                try again.ack()
            }
        }

        @Test func deletingAConsumedQueueEndsTheConsumer() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let channel = try connection.openChannel()
                let q = uniqueName("deleted")
                try channel.queueDeclare(q)
                let consumer = try channel.consume(queue: q)
                let other = try connection.openChannel()
                try other.queueDelete(q)
                #expect(try consumer.next(timeout: .seconds(30)) == nil)
                #expect(consumer.endReason != nil)
                #expect(channel.isOpen)
            }
        }
    }
}
