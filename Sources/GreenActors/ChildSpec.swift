import Green

/// How a supervisor starts, restarts and stops one child (Erlang's child spec).
public struct ChildSpec {
    /// When a child that ended is restarted.
    public enum Restart: Sendable {
        /// Always.
        case permanent
        /// Only when it ended abnormally (not `normal`, not `shutdown`).
        case transient
        /// Never; it is forgotten when it ends.
        case temporary
    }

    /// How a child is stopped.
    public enum Shutdown: Sendable {
        /// Killed at once, forcibly.
        case brutalKill
        /// Shut down (`ActorExit(.shutdown)` injected); killed if still alive after the span.
        case timeout(Duration)
        /// Shut down, and waited for without limit (for child supervisors).
        case infinity
    }

    /// What a child is; informational, as in OTP.
    public enum Kind: Sendable { case worker, supervisor }

    /// A name unique among the supervisor's children.
    public var id: String
    /// Creates and starts the child (an actor or a plain greenlet) and returns it.
    public var start: () throws -> AnyGreenlet
    /// When it is restarted (default `.permanent`).
    public var restart: Restart
    /// How it is stopped (default 5 s, then killed; `.infinity` for supervisors).
    public var shutdown: Shutdown
    /// Worker or supervisor.
    public var kind: Kind

    /// A child spec.
    public init(
        id: String, restart: Restart = .permanent, shutdown: Shutdown? = nil, kind: Kind = .worker,
        start: @escaping () throws -> AnyGreenlet
    ) {
        self.id = id
        self.start = start
        self.restart = restart
        self.shutdown = shutdown ?? (kind == .supervisor ? .infinity : .timeout(.seconds(5)))
        self.kind = kind
    }
}

/// Why a supervisor gave up.
public enum SupervisorError: Error, CustomStringConvertible {
    /// More than `maxRestarts` restarts happened within `within`.
    case restartIntensityExceeded(supervisor: String, maxRestarts: Int, within: Duration)
    /// A child's `start` threw while the supervisor started its children.
    case childStartFailed(id: String, error: any Error)
    /// A child id was used twice.
    case duplicateChild(id: String)
    /// No child has that id.
    case noSuchChild(id: String)
    /// `startChild()` without a spec needs a `.simpleOneForOne` supervisor.
    case noTemplate

    public var description: String {
        switch self {
        case .restartIntensityExceeded(let s, let n, let t):
            return "supervisor '\(s)' gave up: more than \(n) restarts within \(t)"
        case .childStartFailed(let id, let e): return "child '\(id)' failed to start: \(e)"
        case .duplicateChild(let id): return "a child with id '\(id)' exists"
        case .noSuchChild(let id): return "no child with id '\(id)'"
        case .noTemplate: return "startChild() without a spec needs a simpleOneForOne supervisor"
        }
    }
}
