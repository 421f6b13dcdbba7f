import Foundation
import GreenAMQP

/// The reply slot of a remote `ask`, carried inside the message (it is
/// Codable): the receiving actor answers by calling it, and the answer
/// travels back through the broker to the asking node.
///
/// ```swift
/// enum Counter: Codable { case add(Int), get(RemoteReply<Int>) }
/// // in the actor:  case .get(let reply): reply(total)
/// // elsewhere:     let total = try counter.ask(timeout: .seconds(5)) { .get($0) }
/// ```
///
/// Answering twice sends twice (the asker takes the first). A slot decoded
/// outside a node (no node to answer through) does nothing.
public struct RemoteReply<Value: Codable>: Codable {
    /// The asking node.
    public let node: String
    /// The ask's correlation id.
    public let correlationId: String
    private let via: NodeBox?

    init(node: String, correlationId: String) {
        self.node = node
        self.correlationId = correlationId
        via = nil
    }

    enum CodingKeys: String, CodingKey { case node, correlationId }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        node = try c.decode(String.self, forKey: .node)
        correlationId = try c.decode(String.self, forKey: .correlationId)
        via = decoder.userInfo[Node.nodeKey] as? NodeBox
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(node, forKey: .node)
        try c.encode(correlationId, forKey: .correlationId)
    }

    /// Sends `value` back to the asker.
    /// - Note: may switch (publishing). On the receiving node's hub (the actor's, when it runs there).
    public func callAsFunction(_ value: Value) {
        guard let n = via?.node else { return }
        n.sendReply(value, to: node, correlationId: correlationId)
    }
}

/// A weak hold on a node, for decoders' `userInfo`.
final class NodeBox: @unchecked Sendable {
    weak var node: Node?
    init(_ node: Node) { self.node = node }
}
