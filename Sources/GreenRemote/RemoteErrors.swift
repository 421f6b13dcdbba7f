/// Why a remote actor is gone, as a monitor or link of its proxy sees it
/// (`DownSignal.reason` is `.error(RemoteDown)`), or why an `ask` failed.
public struct RemoteDown: Error, Equatable, CustomStringConvertible {
    /// The node that hosted it.
    public let node: String
    /// The actor's registered name.
    public let actor: String
    /// Why: "node vanished (no presence for 2 s)", "node left", "actor ended: error(...)".
    public let reason: String
    public var description: String { "remote actor '\(actor)' on node '\(node)' is down: \(reason)" }
}

/// What a remote send or ask can fail with beyond the client's own errors.
public enum RemoteError: Error, Equatable, CustomStringConvertible {
    /// No reply came within the ask's timeout.
    case askTimedOut(node: String, actor: String, timeout: Duration)
    /// The node hosting the actor went down before it replied.
    case down(RemoteDown)
    /// The reply did not decode as the type asked for.
    case undecodableReply(String)
    /// A local actor name is already registered on this node.
    case nameTaken(String)
    /// A node refused to start an actor for a remote supervisor: no such
    /// kind there (`Node.spawnable`), or its factory or start threw.
    case spawnRefused(node: String, kind: String, reason: String)
    /// None of a remote child's nodes started it; the last failure of each.
    case noNodeStarted(child: String, failures: [String])

    public var description: String {
        switch self {
        case .askTimedOut(let n, let a, let t): return "no reply from '\(a)' on '\(n)' within \(t)"
        case .down(let d): return "\(d)"
        case .undecodableReply(let why): return "the reply did not decode: \(why)"
        case .nameTaken(let n): return "'\(n)' is already registered on this node"
        case .spawnRefused(let n, let k, let r): return "node '\(n)' did not start a '\(k)': \(r)"
        case .noNodeStarted(let c, let f): return "no node started remote child '\(c)': \(f.joined(separator: "; "))"
        }
    }
}

/// A message from another node that could not be handed to an actor: it did
/// not decode, or no actor of that name is registered here.
public struct RemoteDeadLetter: CustomStringConvertible {
    /// The actor name it was addressed to.
    public let actor: String
    /// The sending node.
    public let from: String
    /// Why it could not be delivered.
    public let reason: String
    /// The message's bytes, as received.
    public let body: [UInt8]
    public var description: String { "dead letter from '\(from)' to '\(actor)': \(reason)" }
}
