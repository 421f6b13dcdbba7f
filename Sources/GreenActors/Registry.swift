import Green

/// Names for actors and greenlets, process-wide (Erlang's `register/2`,
/// `whereis/1`). A name goes away by itself when its holder ends.
///
/// Thread-safe: one registry serves every hub and thread; its table is behind
/// a mutex held only for the lookup or update itself (never across a switch).
/// A holder that has just ended may still be found until its hub has run its
/// end-of-life callbacks, as in Erlang; sending to it then records a dead letter.
public final class Registry: @unchecked Sendable {
    /// The process-wide registry.
    public static let shared = Registry()
    /// The process-wide registry (the same object on every hub); kept for
    /// code written when registries were per hub.
    public static var current: Registry { shared }

    private let lock = PThreadLock()
    private var names: [String: AnyGreenlet] = [:]
    /// The names each holder was registered under (so an ending holder frees them at once).
    private var byHolder: [ObjectIdentifier: [String]] = [:]

    /// A registry of its own (tests, or separate name spaces); most code uses `shared`.
    public init() {}

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
    /// - Note: does not switch. Any hub or thread.
    public func register(_ name: String, _ g: AnyGreenlet) throws {
        try lock.withLock {
            if let holder = names[name], holder !== g, !Registry.hasEnded(holder) { throw Failure.nameTaken(name) }
            names[name] = g
            byHolder[ObjectIdentifier(g), default: []].append(name)
        }
        g.link { [weak self] dead in
            guard let self else { return }
            self.holderEnded(dead)
        }
    }

    /// Frees `name`. Any hub or thread.
    public func unregister(_ name: String) {
        lock.withLock {
            guard let holder = names.removeValue(forKey: name) else { return }
            byHolder[ObjectIdentifier(holder)]?.removeAll { $0 == name }
        }
    }

    /// Frees every name `g` holds. An ending actor calls it on the shared
    /// registry before it tells its links and monitors, so a supervisor that
    /// restarts it on another hub finds the name free.
    func holderEnded(_ g: AnyGreenlet) {
        lock.withLock {
            guard let held = byHolder.removeValue(forKey: ObjectIdentifier(g)) else { return }
            for name in held where names[name] === g { names[name] = nil }
        }
    }

    /// The live greenlet registered as `name`, if any. Any hub or thread.
    public func whereis(_ name: String) -> AnyGreenlet? {
        lock.withLock {
            guard let g = names[name], !Registry.hasEnded(g) else { return nil }
            return g
        }
    }

    /// Whether `g` has ended, as far as the caller can tell without racing its
    /// hub: on another hub a holder counts as alive until its end-of-life
    /// callback removes its name.
    private static func hasEnded(_ g: AnyGreenlet) -> Bool {
        g.hub.isCurrentThread && g.isDead
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

    /// Registered names of live greenlets. Any hub or thread.
    public var registeredNames: [String] {
        lock.withLock { names.filter { !Registry.hasEnded($0.value) }.map(\.key).sorted() }
    }
}
