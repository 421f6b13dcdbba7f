import Green
import GreenActors

/// An actor registered by name on a node, possibly in another process or on
/// another machine, reached through the broker.
///
/// `send` is Erlang's `!`: it never waits for the receiver, and messages
/// from one node to one actor arrive in the order sent. A message that cannot
/// be delivered (the node is gone, no such actor, it does not decode) is
/// dropped on the way or ends in the receiving node's dead letters.
///
/// Thread-safety: use it on its node's hub.
public struct RemoteActorRef<Message: Codable> {
    /// The local node it sends through.
    public let via: Node
    /// The node hosting the actor.
    public let node: String
    /// The actor's registered name there.
    public let actor: String

    /// Sends `message` (fire and forget).
    /// - Throws: `EncodingError`; the client's errors while it cannot reconnect; injected errors.
    /// - Note: may switch (sending). On the node's hub.
    public func send(_ message: Message) throws {
        try via.send(message, to: actor, on: node)
    }

    /// Sends the message `make` builds around a reply slot and waits for the answer
    /// (Erlang's `gen_server:call` across nodes).
    /// - Throws: `RemoteError.askTimedOut`; `RemoteError.down` when the node goes
    ///   down first; `RemoteError.undecodableReply`; injected errors.
    /// - Note: switches. On the node's hub.
    public func ask<Reply: Codable>(timeout: Duration, _ make: (RemoteReply<Reply>) -> Message) throws -> Reply {
        try via.ask(actor: actor, on: node, timeout: timeout, make)
    }

    /// A local greenlet that stands for the remote actor: it ends, with
    /// `RemoteDown` as its error, when the actor ends or its node vanishes.
    /// Monitor it (`actor.monitor(ref.proxy())`) or link to it like any greenlet.
    /// - Note: does not switch. On the node's hub.
    public func proxy() -> AnyGreenlet { via.proxy(for: actor, on: node) }
}
