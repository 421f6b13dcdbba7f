import Green

/// Why an actor or greenlet ended, in Erlang's terms.
public enum ExitReason: CustomStringConvertible {
    /// It returned, was stopped politely, or exited with `GreenletExit`.
    case normal
    /// It was shut down (by a supervisor or `shutdown()`): expected, but
    /// unlike `normal` it still ends linked peers that do not trap exits.
    case shutdown
    /// It was killed with `kill()`: forced, it could not refuse.
    case killed
    /// It failed with an error.
    case error(any Error)

    /// Whether this is `.normal`: the one reason that does not end linked peers.
    public var isNormal: Bool { if case .normal = self { return true } else { return false } }

    /// `normal` or `shutdown`: the reasons a transient child is not restarted for.
    public var isExpected: Bool {
        switch self {
        case .normal, .shutdown: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .normal: return "normal"
        case .shutdown: return "shutdown"
        case .killed: return "killed"
        case .error(let e): return "error(\(e))"
        }
    }

    /// The reason a finished greenlet ended with.
    public init(of g: AnyGreenlet) {
        switch g.error {
        case nil: self = .normal
        case is GreenletExit: self = .normal
        case let e as ActorExit: self = e.reason
        case let e?: self = .error(e)
        }
    }
}

/// The error injected into an actor to end it with a given reason
/// (`shutdown`, `kill`), and the one its blocking call throws.
public struct ActorExit: Error, CustomStringConvertible {
    /// The reason it carries.
    public let reason: ExitReason
    public var description: String { "ActorExit(\(reason))" }
}

/// Injected into a linked peer that does not trap exits when its peer ends
/// abnormally; its own exit reason becomes `.error(LinkedExit)`.
public struct LinkedExit: Error, CustomStringConvertible {
    /// The name of the peer that ended.
    public let peer: String
    /// Why it ended.
    public let reason: ExitReason
    public var description: String { "linked '\(peer)' exited: \(reason)" }
}

/// An exit signal turned into a message, for actors that trap exits.
public struct ExitSignal: CustomStringConvertible {
    /// The peer that ended.
    public let peer: AnyGreenlet
    /// Why it ended.
    public let reason: ExitReason
    public var description: String { "EXIT(\(peer.name), \(reason))" }
}

/// A monitor's notice that the watched actor or greenlet ended.
public struct DownSignal: CustomStringConvertible {
    /// The monitor this notice answers (as returned by `monitor(_:)`).
    public let monitor: MonitorRef
    /// The greenlet that ended.
    public let peer: AnyGreenlet
    /// Why it ended.
    public let reason: ExitReason
    public var description: String { "DOWN(\(peer.name), \(reason))" }
}

/// Identifies one monitor, for `demonitor(_:)`.
public struct MonitorRef: Hashable, Sendable {
    let id: UInt64
}
