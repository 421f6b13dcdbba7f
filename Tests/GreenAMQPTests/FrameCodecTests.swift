@testable import GreenAMQP
import Green
import Testing

/// The codec alone: what goes out comes back, and nonsense is a typed error.
@Suite struct FrameCodecTests {
    @Test func methodsRoundTrip() throws {
        let methods: [AMQPMethod] = [
            .connectionTuneOk(channelMax: 2047, frameMax: 131072, heartbeat: 10),
            .queueDeclare(name: "q", passive: false, durable: true, exclusive: false, autoDelete: true, noWait: false,
                          arguments: ["x-message-ttl": .int32(1000), "nested": .table(["a": .array([.string("b"), .bool(true)])])]),
            .basicPublish(exchange: "x", routingKey: "rk", mandatory: true, immediate: false),
            .basicDeliver(consumerTag: "c", deliveryTag: 1 << 40, redelivered: true, exchange: "", routingKey: "q"),
            .basicNack(deliveryTag: 7, multiple: true, requeue: false),
            .exchangeDeclare(name: "e", type: "topic", passive: false, durable: true, autoDelete: false, internal: true,
                             noWait: false, arguments: [:]),
        ]
        for m in methods {
            let frame = Frame.method(channel: 3, m)
            let parsed = try #require(try Frame.parse(frame.bytes))
            #expect(parsed.0 == frame)
            #expect(parsed.1 == frame.bytes.count)
        }
    }

    @Test func contentHeadersRoundTrip() throws {
        var p = AMQPProperties(contentType: "application/json", headers: ["k": .int64(-5)], deliveryMode: 2,
                               correlationId: "c1", replyTo: "r", messageId: "m")
        p.timestamp = 1_700_000_000
        p.appId = "green"
        let frame = Frame.header(channel: 1, classId: 60, bodySize: 12345, properties: p)
        #expect(try Frame.parse(frame.bytes)?.0 == frame)
    }

    @Test func truncatedAndMalformedFramesAreTypedErrors() throws {
        let good = Frame.method(channel: 1, .basicAck(deliveryTag: 1, multiple: false)).bytes
        // Less than a frame: not an error yet (wait for more bytes).
        #expect(try Frame.parse(Array(good.prefix(5))) == nil)
        var badEnd = good
        badEnd[badEnd.count - 1] = 0x00
        #expect(throws: FrameError.badFrameEnd(0)) { try Frame.parse(badEnd) }
        var badType = good
        badType[0] = 9
        #expect(throws: FrameError.unknownFrameType(9)) { try Frame.parse(badType) }
        // A method payload shorter than its arguments.
        let short: [UInt8] = [1, 0, 1, 0, 0, 0, 5, 0, 60, 0, 80, 0, 0xCE]
        #expect(throws: FrameError.truncated(what: "method frame")) { try Frame.parse(short) }
        let unknown: [UInt8] = [1, 0, 1, 0, 0, 0, 4, 0, 99, 0, 1, 0xCE]
        #expect(throws: FrameError.unknownMethod(classId: 99, methodId: 1)) { try Frame.parse(unknown) }
        let huge: [UInt8] = [3, 0, 1, 0x7f, 0xff, 0xff, 0xff]
        #expect(throws: FrameError.frameTooLarge(size: 0x7fff_ffff + 8, max: 131072)) { try Frame.parse(huge) }
    }

    /// Random bytes and random mutations of valid frames: every outcome is a
    /// frame, "need more", or a `FrameError`; never a trap (fixed seed).
    @Test func randomNonsenseNeverTraps() throws {
        var rng = SplitMix(seed: 13)
        let seeds: [[UInt8]] = [
            Frame.method(channel: 1, .basicGetOk(deliveryTag: 9, redelivered: false, exchange: "x", routingKey: "k", messageCount: 3)).bytes,
            Frame.method(channel: 0, .connectionStart(versionMajor: 0, versionMinor: 9,
                                                      serverProperties: ["capabilities": .table(["a": .bool(true)])],
                                                      mechanisms: "PLAIN", locales: "en_US")).bytes,
            Frame.header(channel: 1, classId: 60, bodySize: 3, properties: AMQPProperties(headers: ["x": .array([.int8(1)])])).bytes,
        ]
        var outcomes = [0, 0, 0]
        for i in 0..<20000 {
            var bytes = seeds[i % seeds.count]
            if i % 5 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                for _ in 0..<(1 + Int(rng.next() % 4)) where !bytes.isEmpty {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            do {
                if try Frame.parse(bytes) != nil { outcomes[0] += 1 } else { outcomes[1] += 1 }
            } catch is FrameError {
                outcomes[2] += 1
            }
        }
        #expect(outcomes[2] > 0)
    }

    @Test func urlsAreParsed() throws {
        let c = try AMQPConfiguration(url: "amqp://bob:s%40cret@broker.example:5673/%2fprod?heartbeat=3")
        #expect(c.user == "bob")
        #expect(c.password == "s@cret")
        #expect(c.host == "broker.example")
        #expect(c.port == 5673)
        #expect(c.virtualHost == "/prod")
        #expect(c.heartbeat == .seconds(3))
        #expect(try AMQPConfiguration(url: "amqp://127.0.0.1").virtualHost == "/")
        #expect(throws: AMQPURLError.self) { try AMQPConfiguration(url: "http://x") }
        #expect(throws: AMQPURLError.self) { try AMQPConfiguration(url: "amqp://x:99999") }
    }

    /// A peer that answers the protocol header with nonsense: the connect
    /// fails with a protocol violation (a real loopback socket, not a broker).
    @Test func aPeerSendingNonsenseIsAProtocolViolation() throws {
        try green {
            let listener = try Socket.listening(on: try .loopback(port: 0))
            let port = try listener.localAddress().port
            let peer = spawn {
                let (s, _) = try listener.accept()
                _ = try s.recv(maxBytes: 8)
                try s.sendAll([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 99, 0x00] + Array(repeating: 0xAB, count: 64))
                _ = try? s.recv(maxBytes: 100, timeout: .seconds(5))
                s.close()
            }
            var config = AMQPConfiguration()
            config.port = port
            config.connectTimeout = .seconds(10)
            #expect(throws: AMQPConnectionError.protocolViolation(.badFrameEnd(0))) { try AMQPConnection.connect(config) }
            try peer.get()
            listener.close()
        }
    }

    @Test func aPeerSpeakingAnotherVersionIsReported() throws {
        try green {
            let listener = try Socket.listening(on: try .loopback(port: 0))
            let port = try listener.localAddress().port
            let peer = spawn {
                let (s, _) = try listener.accept()
                _ = try s.recv(maxBytes: 8)
                try s.sendAll(Array("AMQP".utf8) + [0, 1, 0, 0])
                s.close()
            }
            var config = AMQPConfiguration()
            config.port = port
            #expect(throws: AMQPConnectionError.unsupportedProtocol(Array("AMQP".utf8) + [0, 1, 0, 0])) {
                try AMQPConnection.connect(config)
            }
            try peer.get()
            listener.close()
        }
    }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
