/// What a program declared through `AMQPClient`, in order: replayed on every
/// reconnect, so that exchanges, queues and bindings the broker lost (a
/// restart drops non-durable ones; exclusive queues go with the connection)
/// exist again before consumers resume.
struct Topology {
    enum Declaration {
        case exchange(name: String, kind: ExchangeKind, durable: Bool, autoDelete: Bool, arguments: FieldTable)
        case queue(name: String, durable: Bool, exclusive: Bool, autoDelete: Bool, arguments: FieldTable)
        case binding(queue: String, exchange: String, routingKey: String, arguments: FieldTable)
    }

    private(set) var declarations: [Declaration] = []

    mutating func record(_ d: Declaration) {
        // A declaration made again (same name) keeps its first place.
        switch d {
        case .exchange(let name, _, _, _, _):
            if declarations.contains(where: { if case .exchange(name, _, _, _, _) = $0 { true } else { false } }) { return }
        case .queue(let name, _, _, _, _):
            if declarations.contains(where: { if case .queue(name, _, _, _, _) = $0 { true } else { false } }) { return }
        case .binding(let q, let x, let rk, _):
            if declarations.contains(where: { if case .binding(q, x, rk, _) = $0 { true } else { false } }) { return }
        }
        declarations.append(d)
    }

    mutating func forgetQueue(_ name: String) {
        declarations.removeAll {
            switch $0 {
            case .queue(name, _, _, _, _), .binding(name, _, _, _): return true
            default: return false
            }
        }
    }

    mutating func forgetExchange(_ name: String) {
        declarations.removeAll {
            switch $0 {
            case .exchange(name, _, _, _, _), .binding(_, name, _, _): return true
            default: return false
            }
        }
    }

    mutating func forgetBinding(queue: String, exchange: String, routingKey: String) {
        declarations.removeAll { if case .binding(queue, exchange, routingKey, _) = $0 { true } else { false } }
    }

    /// Declares everything again on `channel`, in order.
    func replay(on channel: AMQPChannel) throws {
        for d in declarations {
            switch d {
            case .exchange(let name, let kind, let durable, let autoDelete, let arguments):
                try channel.exchangeDeclare(name, kind: kind, durable: durable, autoDelete: autoDelete, arguments: arguments)
            case .queue(let name, let durable, let exclusive, let autoDelete, let arguments):
                try channel.queueDeclare(name, durable: durable, exclusive: exclusive, autoDelete: autoDelete, arguments: arguments)
            case .binding(let queue, let exchange, let routingKey, let arguments):
                try channel.queueBind(queue, exchange: exchange, routingKey: routingKey, arguments: arguments)
            }
        }
    }
}
