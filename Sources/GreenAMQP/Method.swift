/// The AMQP 0-9-1 methods this client sends or understands, with their
/// arguments: the method codec. Fields named `reserved` in the spec are
/// written as zero and skipped on reading.
enum AMQPMethod: Equatable {
    // connection (10)
    case connectionStart(versionMajor: UInt8, versionMinor: UInt8, serverProperties: FieldTable, mechanisms: String, locales: String)
    case connectionStartOk(clientProperties: FieldTable, mechanism: String, response: [UInt8], locale: String)
    case connectionSecure(challenge: [UInt8])
    case connectionTune(channelMax: UInt16, frameMax: UInt32, heartbeat: UInt16)
    case connectionTuneOk(channelMax: UInt16, frameMax: UInt32, heartbeat: UInt16)
    case connectionOpen(vhost: String)
    case connectionOpenOk
    case connectionClose(code: UInt16, text: String, classId: UInt16, methodId: UInt16)
    case connectionCloseOk
    case connectionBlocked(reason: String)
    case connectionUnblocked
    // channel (20)
    case channelOpen
    case channelOpenOk
    case channelFlow(active: Bool)
    case channelFlowOk(active: Bool)
    case channelClose(code: UInt16, text: String, classId: UInt16, methodId: UInt16)
    case channelCloseOk
    // exchange (40)
    case exchangeDeclare(name: String, type: String, passive: Bool, durable: Bool, autoDelete: Bool, internal: Bool, noWait: Bool, arguments: FieldTable)
    case exchangeDeclareOk
    case exchangeDelete(name: String, ifUnused: Bool, noWait: Bool)
    case exchangeDeleteOk
    // queue (50)
    case queueDeclare(name: String, passive: Bool, durable: Bool, exclusive: Bool, autoDelete: Bool, noWait: Bool, arguments: FieldTable)
    case queueDeclareOk(name: String, messageCount: UInt32, consumerCount: UInt32)
    case queueBind(queue: String, exchange: String, routingKey: String, noWait: Bool, arguments: FieldTable)
    case queueBindOk
    case queuePurge(queue: String, noWait: Bool)
    case queuePurgeOk(messageCount: UInt32)
    case queueDelete(queue: String, ifUnused: Bool, ifEmpty: Bool, noWait: Bool)
    case queueDeleteOk(messageCount: UInt32)
    case queueUnbind(queue: String, exchange: String, routingKey: String, arguments: FieldTable)
    case queueUnbindOk
    // basic (60)
    case basicQos(prefetchSize: UInt32, prefetchCount: UInt16, global: Bool)
    case basicQosOk
    case basicConsume(queue: String, consumerTag: String, noLocal: Bool, noAck: Bool, exclusive: Bool, noWait: Bool, arguments: FieldTable)
    case basicConsumeOk(consumerTag: String)
    case basicCancel(consumerTag: String, noWait: Bool)
    case basicCancelOk(consumerTag: String)
    case basicPublish(exchange: String, routingKey: String, mandatory: Bool, immediate: Bool)
    case basicReturn(code: UInt16, text: String, exchange: String, routingKey: String)
    case basicDeliver(consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String)
    case basicGet(queue: String, noAck: Bool)
    case basicGetOk(deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String, messageCount: UInt32)
    case basicGetEmpty
    case basicAck(deliveryTag: UInt64, multiple: Bool)
    case basicReject(deliveryTag: UInt64, requeue: Bool)
    case basicRecover(requeue: Bool)
    case basicRecoverOk
    case basicNack(deliveryTag: UInt64, multiple: Bool, requeue: Bool)
    // confirm (85)
    case confirmSelect(noWait: Bool)
    case confirmSelectOk

    /// (class id, method id).
    var id: (UInt16, UInt16) {
        switch self {
        case .connectionStart: return (10, 10)
        case .connectionStartOk: return (10, 11)
        case .connectionSecure: return (10, 20)
        case .connectionTune: return (10, 30)
        case .connectionTuneOk: return (10, 31)
        case .connectionOpen: return (10, 40)
        case .connectionOpenOk: return (10, 41)
        case .connectionClose: return (10, 50)
        case .connectionCloseOk: return (10, 51)
        case .connectionBlocked: return (10, 60)
        case .connectionUnblocked: return (10, 61)
        case .channelOpen: return (20, 10)
        case .channelOpenOk: return (20, 11)
        case .channelFlow: return (20, 20)
        case .channelFlowOk: return (20, 21)
        case .channelClose: return (20, 40)
        case .channelCloseOk: return (20, 41)
        case .exchangeDeclare: return (40, 10)
        case .exchangeDeclareOk: return (40, 11)
        case .exchangeDelete: return (40, 20)
        case .exchangeDeleteOk: return (40, 21)
        case .queueDeclare: return (50, 10)
        case .queueDeclareOk: return (50, 11)
        case .queueBind: return (50, 20)
        case .queueBindOk: return (50, 21)
        case .queuePurge: return (50, 30)
        case .queuePurgeOk: return (50, 31)
        case .queueDelete: return (50, 40)
        case .queueDeleteOk: return (50, 41)
        case .queueUnbind: return (50, 50)
        case .queueUnbindOk: return (50, 51)
        case .basicQos: return (60, 10)
        case .basicQosOk: return (60, 11)
        case .basicConsume: return (60, 20)
        case .basicConsumeOk: return (60, 21)
        case .basicCancel: return (60, 30)
        case .basicCancelOk: return (60, 31)
        case .basicPublish: return (60, 40)
        case .basicReturn: return (60, 50)
        case .basicDeliver: return (60, 60)
        case .basicGet: return (60, 70)
        case .basicGetOk: return (60, 71)
        case .basicGetEmpty: return (60, 72)
        case .basicAck: return (60, 80)
        case .basicReject: return (60, 90)
        case .basicRecover: return (60, 110)
        case .basicRecoverOk: return (60, 111)
        case .basicNack: return (60, 120)
        case .confirmSelect: return (85, 10)
        case .confirmSelectOk: return (85, 11)
        }
    }

    /// Whether content (a header and body frames) follows this method.
    var carriesContent: Bool {
        switch self {
        case .basicPublish, .basicReturn, .basicDeliver, .basicGetOk: return true
        default: return false
        }
    }

    /// The method's payload: class id, method id, arguments.
    func encode(into w: inout WireWriter) {
        let (c, m) = id
        w.u16(c); w.u16(m)
        switch self {
        case .connectionStart(let maj, let min, let props, let mech, let loc):
            w.u8(maj); w.u8(min); w.table(props); w.longString(mech); w.longString(loc)
        case .connectionStartOk(let props, let mech, let response, let locale):
            w.table(props); w.shortString(mech); w.longBytes(response); w.shortString(locale)
        case .connectionSecure(let challenge): w.longBytes(challenge)
        case .connectionTune(let cm, let fm, let hb), .connectionTuneOk(let cm, let fm, let hb):
            w.u16(cm); w.u32(fm); w.u16(hb)
        case .connectionOpen(let vhost): w.shortString(vhost); w.shortString(""); w.bits(false)
        case .connectionOpenOk: w.shortString("")
        case .connectionClose(let code, let text, let ci, let mi), .channelClose(let code, let text, let ci, let mi):
            w.u16(code); w.shortString(text); w.u16(ci); w.u16(mi)
        case .connectionCloseOk, .connectionUnblocked, .channelCloseOk: break
        case .connectionBlocked(let reason): w.shortString(reason)
        case .channelOpen: w.shortString("")
        case .channelOpenOk: w.longString("")
        case .channelFlow(let active), .channelFlowOk(let active): w.bits(active)
        case .exchangeDeclare(let name, let type, let passive, let durable, let autoDelete, let isInternal, let noWait, let args):
            w.u16(0); w.shortString(name); w.shortString(type)
            w.bits(passive, durable, autoDelete, isInternal, noWait); w.table(args)
        case .exchangeDeclareOk, .exchangeDeleteOk, .queueBindOk, .queueUnbindOk, .basicQosOk,
             .basicRecoverOk, .confirmSelectOk:
            break
        case .exchangeDelete(let name, let ifUnused, let noWait):
            w.u16(0); w.shortString(name); w.bits(ifUnused, noWait)
        case .queueDeclare(let name, let passive, let durable, let exclusive, let autoDelete, let noWait, let args):
            w.u16(0); w.shortString(name); w.bits(passive, durable, exclusive, autoDelete, noWait); w.table(args)
        case .queueDeclareOk(let name, let messages, let consumers):
            w.shortString(name); w.u32(messages); w.u32(consumers)
        case .queueBind(let q, let x, let rk, let noWait, let args):
            w.u16(0); w.shortString(q); w.shortString(x); w.shortString(rk); w.bits(noWait); w.table(args)
        case .queuePurge(let q, let noWait): w.u16(0); w.shortString(q); w.bits(noWait)
        case .queuePurgeOk(let n), .queueDeleteOk(let n): w.u32(n)
        case .queueDelete(let q, let ifUnused, let ifEmpty, let noWait):
            w.u16(0); w.shortString(q); w.bits(ifUnused, ifEmpty, noWait)
        case .queueUnbind(let q, let x, let rk, let args):
            w.u16(0); w.shortString(q); w.shortString(x); w.shortString(rk); w.table(args)
        case .basicQos(let size, let count, let global): w.u32(size); w.u16(count); w.bits(global)
        case .basicConsume(let q, let tag, let noLocal, let noAck, let exclusive, let noWait, let args):
            w.u16(0); w.shortString(q); w.shortString(tag); w.bits(noLocal, noAck, exclusive, noWait); w.table(args)
        case .basicConsumeOk(let tag), .basicCancelOk(let tag): w.shortString(tag)
        case .basicCancel(let tag, let noWait): w.shortString(tag); w.bits(noWait)
        case .basicPublish(let x, let rk, let mandatory, let immediate):
            w.u16(0); w.shortString(x); w.shortString(rk); w.bits(mandatory, immediate)
        case .basicReturn(let code, let text, let x, let rk):
            w.u16(code); w.shortString(text); w.shortString(x); w.shortString(rk)
        case .basicDeliver(let tag, let dt, let redelivered, let x, let rk):
            w.shortString(tag); w.u64(dt); w.bits(redelivered); w.shortString(x); w.shortString(rk)
        case .basicGet(let q, let noAck): w.u16(0); w.shortString(q); w.bits(noAck)
        case .basicGetOk(let dt, let redelivered, let x, let rk, let count):
            w.u64(dt); w.bits(redelivered); w.shortString(x); w.shortString(rk); w.u32(count)
        case .basicGetEmpty: w.shortString("")
        case .basicAck(let dt, let multiple): w.u64(dt); w.bits(multiple)
        case .basicReject(let dt, let requeue): w.u64(dt); w.bits(requeue)
        case .basicRecover(let requeue): w.bits(requeue)
        case .basicNack(let dt, let multiple, let requeue): w.u64(dt); w.bits(multiple, requeue)
        case .confirmSelect(let noWait): w.bits(noWait)
        }
    }

    /// Decodes a method frame's payload.
    /// - Throws: `FrameError.truncated`, `.unknownMethod`, `.unknownFieldType`.
    static func decode(_ r: inout WireReader) throws -> AMQPMethod {
        let c = try r.u16(), m = try r.u16()
        switch (c, m) {
        case (10, 10):
            return .connectionStart(versionMajor: try r.u8(), versionMinor: try r.u8(), serverProperties: try r.table(),
                                    mechanisms: try r.longString(), locales: try r.longString())
        case (10, 11):
            return .connectionStartOk(clientProperties: try r.table(), mechanism: try r.shortString(),
                                      response: try r.longBytes(), locale: try r.shortString())
        case (10, 20): return .connectionSecure(challenge: try r.longBytes())
        case (10, 30): return .connectionTune(channelMax: try r.u16(), frameMax: try r.u32(), heartbeat: try r.u16())
        case (10, 31): return .connectionTuneOk(channelMax: try r.u16(), frameMax: try r.u32(), heartbeat: try r.u16())
        case (10, 40):
            let vhost = try r.shortString(); _ = try r.shortString(); _ = try r.u8()
            return .connectionOpen(vhost: vhost)
        case (10, 41): _ = try r.shortString(); return .connectionOpenOk
        case (10, 50):
            return .connectionClose(code: try r.u16(), text: try r.shortString(), classId: try r.u16(), methodId: try r.u16())
        case (10, 51): return .connectionCloseOk
        case (10, 60): return .connectionBlocked(reason: r.isAtEnd ? "" : try r.shortString())
        case (10, 61): return .connectionUnblocked
        case (20, 10): _ = try r.shortString(); return .channelOpen
        case (20, 11): _ = try r.longBytes(); return .channelOpenOk
        case (20, 20): return .channelFlow(active: try r.bits(1)[0])
        case (20, 21): return .channelFlowOk(active: try r.bits(1)[0])
        case (20, 40):
            return .channelClose(code: try r.u16(), text: try r.shortString(), classId: try r.u16(), methodId: try r.u16())
        case (20, 41): return .channelCloseOk
        case (40, 10):
            _ = try r.u16()
            let name = try r.shortString(), type = try r.shortString(), b = try r.bits(5)
            return .exchangeDeclare(name: name, type: type, passive: b[0], durable: b[1], autoDelete: b[2],
                                    internal: b[3], noWait: b[4], arguments: try r.table())
        case (40, 11): return .exchangeDeclareOk
        case (40, 20):
            _ = try r.u16()
            let name = try r.shortString(), b = try r.bits(2)
            return .exchangeDelete(name: name, ifUnused: b[0], noWait: b[1])
        case (40, 21): return .exchangeDeleteOk
        case (50, 10):
            _ = try r.u16()
            let name = try r.shortString(), b = try r.bits(5)
            return .queueDeclare(name: name, passive: b[0], durable: b[1], exclusive: b[2], autoDelete: b[3],
                                 noWait: b[4], arguments: try r.table())
        case (50, 11): return .queueDeclareOk(name: try r.shortString(), messageCount: try r.u32(), consumerCount: try r.u32())
        case (50, 20):
            _ = try r.u16()
            let q = try r.shortString(), x = try r.shortString(), rk = try r.shortString(), b = try r.bits(1)
            return .queueBind(queue: q, exchange: x, routingKey: rk, noWait: b[0], arguments: try r.table())
        case (50, 21): return .queueBindOk
        case (50, 30):
            _ = try r.u16()
            return .queuePurge(queue: try r.shortString(), noWait: try r.bits(1)[0])
        case (50, 31): return .queuePurgeOk(messageCount: try r.u32())
        case (50, 40):
            _ = try r.u16()
            let q = try r.shortString(), b = try r.bits(3)
            return .queueDelete(queue: q, ifUnused: b[0], ifEmpty: b[1], noWait: b[2])
        case (50, 41): return .queueDeleteOk(messageCount: try r.u32())
        case (50, 50):
            _ = try r.u16()
            return .queueUnbind(queue: try r.shortString(), exchange: try r.shortString(), routingKey: try r.shortString(),
                                arguments: try r.table())
        case (50, 51): return .queueUnbindOk
        case (60, 10):
            return .basicQos(prefetchSize: try r.u32(), prefetchCount: try r.u16(), global: try r.bits(1)[0])
        case (60, 11): return .basicQosOk
        case (60, 20):
            _ = try r.u16()
            let q = try r.shortString(), tag = try r.shortString(), b = try r.bits(4)
            return .basicConsume(queue: q, consumerTag: tag, noLocal: b[0], noAck: b[1], exclusive: b[2], noWait: b[3],
                                 arguments: try r.table())
        case (60, 21): return .basicConsumeOk(consumerTag: try r.shortString())
        case (60, 30): return .basicCancel(consumerTag: try r.shortString(), noWait: r.isAtEnd ? false : try r.bits(1)[0])
        case (60, 31): return .basicCancelOk(consumerTag: try r.shortString())
        case (60, 40):
            _ = try r.u16()
            let x = try r.shortString(), rk = try r.shortString(), b = try r.bits(2)
            return .basicPublish(exchange: x, routingKey: rk, mandatory: b[0], immediate: b[1])
        case (60, 50):
            return .basicReturn(code: try r.u16(), text: try r.shortString(), exchange: try r.shortString(),
                                routingKey: try r.shortString())
        case (60, 60):
            return .basicDeliver(consumerTag: try r.shortString(), deliveryTag: try r.u64(), redelivered: try r.bits(1)[0],
                                 exchange: try r.shortString(), routingKey: try r.shortString())
        case (60, 70):
            _ = try r.u16()
            return .basicGet(queue: try r.shortString(), noAck: try r.bits(1)[0])
        case (60, 71):
            return .basicGetOk(deliveryTag: try r.u64(), redelivered: try r.bits(1)[0], exchange: try r.shortString(),
                               routingKey: try r.shortString(), messageCount: try r.u32())
        case (60, 72): _ = try r.shortString(); return .basicGetEmpty
        case (60, 80): return .basicAck(deliveryTag: try r.u64(), multiple: try r.bits(1)[0])
        case (60, 90): return .basicReject(deliveryTag: try r.u64(), requeue: try r.bits(1)[0])
        case (60, 110): return .basicRecover(requeue: try r.bits(1)[0])
        case (60, 111): return .basicRecoverOk
        case (60, 120):
            let dt = try r.u64(), b = try r.bits(2)
            return .basicNack(deliveryTag: dt, multiple: b[0], requeue: b[1])
        case (85, 10): return .confirmSelect(noWait: try r.bits(1)[0])
        case (85, 11): return .confirmSelectOk
        default: throw FrameError.unknownMethod(classId: c, methodId: m)
        }
    }
}
