import Green

/// One AMQP 0-9-1 frame: type, channel, payload, end byte 0xCE.
///
/// `FrameReader` takes frames off a stream, checking each length against the
/// negotiated frame-max before reading it, and the end byte after; `encode`
/// writes one. Whatever the broker sends, decoding ends in a frame or a
/// `FrameError`, never a trap.
enum Frame: Equatable {
    case method(channel: UInt16, AMQPMethod)
    /// A content header: the body's size and the message's properties.
    case header(channel: UInt16, classId: UInt16, bodySize: UInt64, properties: AMQPProperties)
    case body(channel: UInt16, [UInt8])
    case heartbeat

    static let end: UInt8 = 0xCE
    /// Bytes a frame adds around its payload (type, channel, size, end).
    static let overhead = 8

    var channel: UInt16 {
        switch self {
        case .method(let c, _), .header(let c, _, _, _), .body(let c, _): return c
        case .heartbeat: return 0
        }
    }

    /// Appends the frame's bytes to `w`.
    func encode(into w: inout WireWriter) {
        switch self {
        case .method(let channel, let method):
            let start = Self.begin(&w, type: 1, channel: channel)
            method.encode(into: &w)
            Self.finish(&w, start: start)
        case .header(let channel, let classId, let bodySize, let properties):
            let start = Self.begin(&w, type: 2, channel: channel)
            w.u16(classId); w.u16(0); w.u64(bodySize)
            properties.encode(into: &w)
            Self.finish(&w, start: start)
        case .body(let channel, let bytes):
            let start = Self.begin(&w, type: 3, channel: channel)
            w.bytes.append(contentsOf: bytes)
            Self.finish(&w, start: start)
        case .heartbeat:
            w.u8(8); w.u16(0); w.u32(0); w.u8(Self.end)
        }
    }

    /// The frame's bytes.
    var bytes: [UInt8] {
        var w = WireWriter()
        encode(into: &w)
        return w.bytes
    }

    private static func begin(_ w: inout WireWriter, type: UInt8, channel: UInt16) -> Int {
        w.u8(type); w.u16(channel); w.u32(0)
        return w.bytes.count
    }

    private static func finish(_ w: inout WireWriter, start: Int) {
        let size = UInt32(w.bytes.count - start)
        w.bytes[start - 4] = UInt8(size >> 24); w.bytes[start - 3] = UInt8((size >> 16) & 0xff)
        w.bytes[start - 2] = UInt8((size >> 8) & 0xff); w.bytes[start - 1] = UInt8(size & 0xff)
        w.u8(end)
    }

    /// Decodes a frame's payload, given its type and channel.
    /// - Throws: `FrameError` for an unknown type, a truncated or malformed payload.
    static func decode(type: UInt8, channel: UInt16, payload: [UInt8]) throws -> Frame {
        switch type {
        case 1:
            var r = WireReader(payload, what: "method frame")
            return .method(channel: channel, try AMQPMethod.decode(&r))
        case 2:
            var r = WireReader(payload, what: "content header")
            let classId = try r.u16()
            _ = try r.u16()
            let size = try r.u64()
            return .header(channel: channel, classId: classId, bodySize: size, properties: try AMQPProperties.decode(from: &r))
        case 3:
            return .body(channel: channel, payload)
        case 8:
            if channel != 0 { throw FrameError.badChannel(channel) }
            return .heartbeat
        default:
            throw FrameError.unknownFrameType(type)
        }
    }

    /// Decodes the first frame of `bytes` (tests and the fuzz corpus).
    /// - Returns: the frame and the bytes it took, or nil when `bytes` holds
    ///   less than one frame.
    /// - Throws: `FrameError`.
    static func parse(_ bytes: [UInt8], frameMax: Int = 131072) throws -> (Frame, Int)? {
        var r = WireReader(bytes)
        guard r.remaining >= 7 else { return nil }
        let type = try r.u8(), channel = try r.u16(), size = Int(try r.u32())
        if size + overhead > frameMax { throw FrameError.frameTooLarge(size: size + overhead, max: frameMax) }
        guard r.remaining >= size + 1 else { return nil }
        let payload = try r.take(size)
        let endByte = try r.u8()
        if endByte != end { throw FrameError.badFrameEnd(endByte) }
        return (try decode(type: type, channel: channel, payload: payload), 7 + size + 1)
    }
}

/// Reads frames off a stream through a `BufferedReader`; `next` is the only
/// way in, so the greenlet that reads owns it.
/// Hub-local, like the reader under it; one greenlet reads.
final class FrameReader {
    let reader: BufferedReader
    init(reader: BufferedReader) { self.reader = reader }
    /// The largest frame accepted (the negotiated frame-max; before tuning, the spec's minimum of 4096 is too small for
    /// RabbitMQ's start method, so 128 KiB).
    var frameMax: Int = 131072

    /// The next frame.
    /// - Throws: `FrameError` for nonsense; `AMQPConnectionError.connectionLost`
    ///   at end of stream; the stream's errors; injected errors.
    /// - Note: may switch.
    func next(timeout: Duration? = nil, checkingProtocolHeader: Bool = false) throws -> Frame {
        let head = try reader.read(exactly: 7, timeout: timeout)
        if head.count < 7 { throw AMQPConnectionError.connectionLost }
        if checkingProtocolHeader && head.starts(with: Array("AMQP".utf8)) {
            // The broker refused our protocol version and sent its own header.
            throw AMQPConnectionError.unsupportedProtocol(head + (try reader.read(exactly: 1, timeout: timeout)))
        }
        let type = head[0]
        let channel = UInt16(head[1]) << 8 | UInt16(head[2])
        let size = Int(UInt32(head[3]) << 24 | UInt32(head[4]) << 16 | UInt32(head[5]) << 8 | UInt32(head[6]))
        if size + Frame.overhead > frameMax { throw FrameError.frameTooLarge(size: size + Frame.overhead, max: frameMax) }
        var payload = try reader.read(exactly: size + 1, timeout: timeout)
        if payload.count < size + 1 { throw AMQPConnectionError.connectionLost }
        let endByte = payload.removeLast()
        if endByte != Frame.end { throw FrameError.badFrameEnd(endByte) }
        return try Frame.decode(type: type, channel: channel, payload: payload)
    }
}
