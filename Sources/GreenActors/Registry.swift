import Green

/// Names for actors and greenlets of one hub (Erlang's `register/2`,
/// `whereis/1`). A name goes away by itself when its holder ends.
public final class Registry {
    /// The registry of the calling thread's hub (made on first use, dropped with the hub).
    public static var current: Registry {
        Hub.current.local(Registry.self) { Registry() }
    }

    private var names: [String: AnyGreenlet] = [:]

    /// Why a registry call failed.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Another live greenlet holds the name.
        case nameTaken(String)
        /// No live greenlet holds the name.
        case noSuchName(String)
        /// The holder is not an actor of the message type used.
        case wrongMessageType(name: String, expected: String)

        public var description: String {
            switch self {
            case .nameTaken(let n): return "the name '\(n)' is taken"
            case .noSuchName(let n): return "no actor is registered as '\(n)'"
            case .wrongMessageType(let n, let t): return "'\(n)' is not an actor taking \(t)"
            }
        }
    }

    /// Registers `g` under `name` until it ends.
    /// - Throws: `Failure.nameTaken` if a live greenlet holds it.
    public func register(_ name: String, _ g: AnyGreenlet) throws {
        if let holder = names[name], !holder.isDead, holder !== g { throw Failure.nameTaken(name) }
        names[name] = g
        g.link { [weak self] dead in
            if let self, self.names[name] === dead { self.names[name] = nil }
        }
    }

    /// Frees `name`.
    public func unregister(_ name: String) { names[name] = nil }

    /// The live greenlet registered as `name`, if any.
    public func whereis(_ name: String) -> AnyGreenlet? {
        guard let g = names[name], !g.isDead else { return nil }
        return g
    }

    /// The live actor registered as `name` taking `Message`s, if any.
    public func lookup<Message>(_ name: String, as: Message.Type = Message.self) -> GreenActor<Message>? {
        whereis(name) as? GreenActor<Message>
    }

    /// Sends `message` to the actor registered as `name`.
    /// - Throws: `Failure.noSuchName`, `.wrongMessageType`, and what `send` throws.
    public func send<Message>(_ message: Message, to name: String) throws {
        guard let g = whereis(name) else {
            DeadLetters.record(to: name, message, why: "no such name")
            throw Failure.noSuchName(name)
        }
        guard let actor = g as? GreenActor<Message> else {
            throw Failure.wrongMessageType(name: name, expected: "\(Message.self)")
        }
        try actor.send(message)
    }

    /// Registered names of live greenlets.
    public var registeredNames: [String] { names.filter { !$0.value.isDead }.map(\.key).sorted() }
}
