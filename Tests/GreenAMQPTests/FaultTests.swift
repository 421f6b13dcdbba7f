import Green
import GreenAMQP
import Testing

extension BrokerTests {
    @Suite struct FaultTests {
        /// The broker restarted mid-stream (`rabbitmqctl stop_app`/`start_app`):
        /// the client reconnects, declares its queue again, the consumer goes
        /// on, and every message published with a confirm arrives (publishes
        /// reported unconfirmed are published again: at least once).
        @Test func theBrokerRestartedMidStream() throws {
            try withBroker(limit: .seconds(240)) {
                let client = try AMQPClient.connect(Broker.configuration, backoff: Backoff(initial: .milliseconds(50), maximum: .seconds(1)))
                client.operationTimeout = .seconds(90)
                defer { try? client.close() }
                let q = uniqueName("restart")
                try client.declareQueue(q, durable: true)
                let consumer = try client.consume(queue: q, prefetch: 20)
                var received = Set<Int>()
                let collector = spawn {
                    while received.count < 300, let d = try consumer.next() {
                        // An ack that fails (its channel died with the broker): it comes again.
                        do { try d.ack() } catch { continue }
                        received.insert(Int(d.message.text)!)
                    }
                }
                var reported = 0
                for i in 0..<300 {
                    if i == 100 {
                        try Broker.ctl("stop_app")
                        try Broker.ctl("start_app")
                    }
                    while true {
                        do {
                            try client.publish([UInt8](text: "\(i)"), routingKey: q, properties: .persistent)
                            break
                        } catch let e as AMQPPublishError {
                            guard case .unconfirmed = e else { throw e }
                            reported += 1
                        } catch is AMQPChannelError {
                            reported += 1
                        } catch is AMQPConnectionError {
                            reported += 1
                        }
                    }
                }
                try collector.get(timeout: .seconds(120))
                #expect(received == Set(0..<300))
                #expect(client.reconnectCount >= 1)
                _ = try client.deleteQueue(q)
            }
        }

        /// A broker that goes silent (a relay between client and broker stops
        /// forwarding): the missed heartbeats end the connection, within two
        /// intervals plus one check.
        @Test func aSilentBrokerIsAMissedHeartbeat() throws {
            try withBroker {
                let relay = try FreezableRelay(to: 5672)
                var config = Broker.configuration
                config.port = relay.port
                config.heartbeat = .seconds(1)
                let connection = try AMQPConnection.connect(config)
                #expect(connection.heartbeat == .seconds(1))
                _ = try connection.openChannel()
                relay.frozen = true
                let reason = try connection.waitUntilEnded(timeout: .seconds(30))
                #expect(reason == .heartbeatMissed(interval: .seconds(1)))
                relay.close()
            }
        }

        /// The broker's memory alarm blocks publishers (`connection.blocked`)
        /// and lifts (`connection.unblocked`).
        @Test func aMemoryAlarmBlocksPublishing() throws {
            try withBroker {
                let connection = try AMQPConnection.connect(Broker.configuration)
                defer { try? connection.close() }
                let channel = try connection.openChannel()
                let q = try channel.queueDeclare("", exclusive: true).name
                try Broker.ctl("set_vm_memory_high_watermark", "0.0000001")
                defer { _ = try? Broker.ctl("set_vm_memory_high_watermark", "0.4") }
                // RabbitMQ tells a connection it is blocked when it publishes under the alarm.
                let confirmation = try channel.publishConfirmedAsync(q)
                while !connection.isBlocked { try sleep(.milliseconds(20)) }
                #expect(connection.blockedReason?.contains("memory") == true)
                try Broker.ctl("set_vm_memory_high_watermark", "0.4")
                #expect(try connection.waitUntilUnblocked(timeout: .seconds(60)))
                try confirmation.wait(timeout: .seconds(60))
            }
        }

        /// A publisher without confirms cannot outrun the network: once the
        /// socket is full, `publish` waits while the connection holds
        /// `outgoingBufferLimit` bytes unsent, and goes on when it drains.
        @Test func aPublisherWithoutConfirmsWaitsWhenTheOutgoingBufferIsFull() throws {
            try withBroker {
                let relay = try FreezableRelay(to: 5672)
                defer { relay.close() }
                var config = Broker.configuration
                config.port = relay.port
                config.heartbeat = .seconds(60)
                config.outgoingBufferLimit = 64 * 1024
                let connection = try AMQPConnection.connect(config)
                defer { try? connection.close() }
                let channel = try connection.openChannel()
                let q = try channel.queueDeclare("", exclusive: true).name
                relay.stall()
                let body = [UInt8](repeating: 120, count: 4096)
                var published = 0
                var mostUnsent = 0
                let limit = 20_000 // 80 MiB: far past what the kernel's buffers hold
                let publisher = spawn {
                    while published < limit {
                        try channel.publish(body, routingKey: q)
                        published += 1
                        mostUnsent = max(mostUnsent, connection.unsentByteCount)
                    }
                }
                // Until the publisher stops moving (it is parked, or done: a failure below).
                var last = -1
                while published != last, !publisher.isDead {
                    last = published
                    try sleep(.milliseconds(200))
                }
                #expect(published < limit)
                #expect(mostUnsent <= config.outgoingBufferLimit + body.count + 64)
                relay.resume()
                for _ in 0..<3000 where published == last { try sleep(.milliseconds(100)) }
                #expect(published > last)
                try publisher.kill()
            }
        }
    }
}

extension AMQPChannel {
    func publishConfirmedAsync(_ q: String) throws -> AMQPConfirmation {
        try confirmSelect()
        return try publish([UInt8](text: "while blocked"), routingKey: q)!
    }
}

/// A TCP relay on loopback to the broker that can stop forwarding (both
/// ways) without closing anything: a broker gone silent (`frozen`: it reads
/// and drops) or a peer that stopped reading (`stall()`).
final class FreezableRelay {
    let listener: Socket
    let port: Int
    var frozen = false
    private var pumps: [AnyGreenlet] = []
    private var sockets: [Socket] = []

    init(to target: Int) throws {
        listener = try Socket.listening(on: try .loopback(port: 0))
        port = try listener.localAddress().port
        let acceptor = spawn { [self] in
            while true {
                let (client, _) = try listener.accept()
                let upstream = try Socket.connect(to: try .loopback(port: target))
                sockets += [client, upstream]
                pumps.append(spawn { try self.pump(client, upstream) })
                pumps.append(spawn { try self.pump(upstream, client) })
            }
        }
        pumps.append(acceptor)
    }

    /// Set while the relay reads; cleared by `stall()` (bytes pile up in the
    /// kernel's buffers, then the sender's socket is full).
    private let flowing = Event(isSet: true)
    func stall() { flowing.clear() }
    func resume() { flowing.set() }

    private func pump(_ from: Socket, _ to: Socket) throws {
        while true {
            _ = try flowing.wait()
            let bytes = try from.recv()
            if bytes.isEmpty { to.close(); return }
            if frozen { continue }
            try to.sendAll(bytes)
        }
    }

    func close() {
        for g in pumps { try? g.kill(block: false) }
        for s in sockets { s.close() }
        listener.close()
    }
}
