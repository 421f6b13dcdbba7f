/// A message's properties (AMQP's basic class content header): what travels
/// beside the body. Every field is optional; only those set are sent.
public struct AMQPProperties: Equatable, Sendable {
    public var contentType: String?
    public var contentEncoding: String?
    public var headers: FieldTable?
    /// 1: transient, 2: persistent (written to disk by a durable queue).
    public var deliveryMode: UInt8?
    public var priority: UInt8?
    public var correlationId: String?
    public var replyTo: String?
    /// Per-message TTL in milliseconds, as text.
    public var expiration: String?
    public var messageId: String?
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    public var type: String?
    public var userId: String?
    public var appId: String?

    /// No properties set.
    public init(contentType: String? = nil, headers: FieldTable? = nil, deliveryMode: UInt8? = nil,
                correlationId: String? = nil, replyTo: String? = nil, expiration: String? = nil,
                messageId: String? = nil, type: String? = nil) {
        self.contentType = contentType
        self.headers = headers
        self.deliveryMode = deliveryMode
        self.correlationId = correlationId
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageId = messageId
        self.type = type
    }

    /// Persistent delivery (mode 2).
    public static var persistent: AMQPProperties { AMQPProperties(deliveryMode: 2) }

    func encode(into w: inout WireWriter) {
        var flags: UInt16 = 0
        func bit(_ present: Bool, _ n: UInt16) { if present { flags |= 1 << n } }
        bit(contentType != nil, 15); bit(contentEncoding != nil, 14); bit(headers != nil, 13)
        bit(deliveryMode != nil, 12); bit(priority != nil, 11); bit(correlationId != nil, 10)
        bit(replyTo != nil, 9); bit(expiration != nil, 8); bit(messageId != nil, 7)
        bit(timestamp != nil, 6); bit(type != nil, 5); bit(userId != nil, 4); bit(appId != nil, 3)
        w.u16(flags)
        if let contentType { w.shortString(contentType) }
        if let contentEncoding { w.shortString(contentEncoding) }
        if let headers { w.table(headers) }
        if let deliveryMode { w.u8(deliveryMode) }
        if let priority { w.u8(priority) }
        if let correlationId { w.shortString(correlationId) }
        if let replyTo { w.shortString(replyTo) }
        if let expiration { w.shortString(expiration) }
        if let messageId { w.shortString(messageId) }
        if let timestamp { w.u64(timestamp) }
        if let type { w.shortString(type) }
        if let userId { w.shortString(userId) }
        if let appId { w.shortString(appId) }
    }

    static func decode(from r: inout WireReader) throws -> AMQPProperties {
        var flags = try r.u16()
        // Bit 0 set means another flags word follows (never for basic; skip them).
        var more = flags & 1 != 0
        while more { more = try r.u16() & 1 != 0 }
        var p = AMQPProperties()
        func has(_ n: UInt16) -> Bool { flags & (1 << n) != 0 }
        if has(15) { p.contentType = try r.shortString() }
        if has(14) { p.contentEncoding = try r.shortString() }
        if has(13) { p.headers = try r.table() }
        if has(12) { p.deliveryMode = try r.u8() }
        if has(11) { p.priority = try r.u8() }
        if has(10) { p.correlationId = try r.shortString() }
        if has(9) { p.replyTo = try r.shortString() }
        if has(8) { p.expiration = try r.shortString() }
        if has(7) { p.messageId = try r.shortString() }
        if has(6) { p.timestamp = try r.u64() }
        if has(5) { p.type = try r.shortString() }
        if has(4) { p.userId = try r.shortString() }
        if has(3) { p.appId = try r.shortString() }
        if has(2) { _ = try r.shortString() } // cluster-id, deprecated
        flags = 0
        return p
    }
}
