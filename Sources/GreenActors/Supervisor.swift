import Green
import Logging

/// Erlang/OTP's supervisor, on greenlets.
///
/// Semantics (as OTP's `supervisor`):
/// - Children start in the order given, each linked to the supervisor, which
///   traps exits. They stop in reverse order, each per its `Shutdown`. A
///   child being stopped is unlinked first, which also drops its exit notice
///   if one is already queued: exits of former children are never handled.
/// - A shutdown or kill that reaches the supervisor while it waits for a
///   child to stop is kept, not swallowed: the children in hand are stopped,
///   then the supervisor ends with it.
/// - When a child ends, its `Restart` decides: `permanent` always restarts,
///   `transient` only after an abnormal end, `temporary` never (it is removed).
/// - The strategy decides what restarts with it: `oneForOne` the child alone;
///   `oneForAll` every child (the others are stopped first, in reverse order);
///   `restForOne` the child and those started after it; `simpleOneForOne`
///   children made at run time from one template, restarted alone.
/// - Restart intensity: more than `maxRestarts` restarts within `within` make
///   the supervisor stop all children and end with
///   `SupervisorError.restartIntensityExceeded`, an abnormal exit that its
///   own supervisor sees (supervision trees nest). A restart whose start
///   fails is tried again at once and each attempt counts as a restart, so a
///   child that cannot start ends the supervisor by intensity, as in OTP.
///   (A start that fails when the supervisor itself starts ends it with
///   `SupervisorError.childStartFailed`.)
public final class Supervisor: GreenActor<Supervisor.Command> {
    /// Restart strategies.
    public enum Strategy: Sendable { case oneForOne, oneForAll, restForOne, simpleOneForOne }

    /// Requests a supervisor handles in order with its exit signals.
    public enum Command {
        case startChild(ChildSpec?, Reply<AnyGreenlet>)
        case terminateChild(String, Reply<Bool>)
    }

    struct Child {
        var spec: ChildSpec
        var greenlet: AnyGreenlet?
    }

    /// The strategy.
    public let strategy: Strategy
    /// At most this many restarts...
    public let maxRestarts: Int
    /// ...within this span.
    public let within: Duration
    private let template: ChildSpec?
    private var children: [Child]
    private var restartTimes: [ContinuousClock.Instant] = []
    private var dynamicCount = 0
    /// Restarts made so far.
    public private(set) var restartCount = 0

    /// A supervisor, not started; `start()` it (or return it from a parent's child spec).
    /// - Parameters:
    ///   - children: started in order; for `.simpleOneForOne`, the first is the template.
    public init(
        name: String? = nil, strategy: Strategy = .oneForOne, maxRestarts: Int = 3,
        within: Duration = .seconds(5), children: [ChildSpec]
    ) {
        self.strategy = strategy
        self.maxRestarts = maxRestarts
        self.within = within
        if strategy == .simpleOneForOne {
            template = children.first
            self.children = []
        } else {
            template = nil
            self.children = children.map { Child(spec: $0, greenlet: nil) }
        }
        super.init(name: name)
        trapsExits = true
    }

    // MARK: - Queries

    /// The children's ids and live greenlets, in start order.
    public var runningChildren: [(id: String, greenlet: AnyGreenlet)] {
        children.compactMap { c in c.greenlet.map { (c.spec.id, $0) } }
    }

    /// The live greenlet of child `id`, if any.
    public func child(_ id: String) -> AnyGreenlet? {
        children.first { $0.spec.id == id }?.greenlet
    }

    // MARK: - Requests

    /// Starts a child at run time (`spec`), or from the template of a
    /// `.simpleOneForOne` supervisor (nil). Waits for the supervisor to do it.
    /// - Throws: `SupervisorError`, what the child's `start` threw, `MailboxError`.
    /// - Note: switches.
    @discardableResult
    public func startChild(_ spec: ChildSpec? = nil, timeout: Duration? = .seconds(5)) throws -> AnyGreenlet {
        try ask(timeout: timeout) { .startChild(spec, $0) }
    }

    /// Stops child `id` per its shutdown policy, and removes it.
    /// - Returns: whether such a child existed.
    /// - Note: switches.
    @discardableResult
    public func terminateChild(_ id: String, timeout: Duration? = .seconds(30)) throws -> Bool {
        try ask(timeout: timeout) { .terminateChild(id, $0) }
    }

    // MARK: - Loop

    public override func willStart() throws {
        for i in children.indices {
            do {
                try startChild(at: i)
            } catch {
                stopChildren(children.indices.prefix(i))
                throw SupervisorError.childStartFailed(id: children[i].spec.id, error: error)
            }
        }
    }

    public override func receive(_ command: Command) throws {
        switch command {
        case .startChild(let spec, let reply):
            var spec = spec ?? template
            guard var s = spec else { return reply.fail(SupervisorError.noTemplate) }
            if strategy == .simpleOneForOne && spec != nil && s.id == template?.id {
                dynamicCount += 1
                s.id = "\(s.id)-\(dynamicCount)"
                spec = s
            }
            if children.contains(where: { $0.spec.id == s.id }) {
                return reply.fail(SupervisorError.duplicateChild(id: s.id))
            }
            children.append(Child(spec: s, greenlet: nil))
            do {
                try startChild(at: children.count - 1)
                reply(children[children.count - 1].greenlet!)
            } catch {
                children.removeLast()
                reply.fail(error)
            }
        case .terminateChild(let id, let reply):
            guard let i = children.firstIndex(where: { $0.spec.id == id }) else { return reply(false) }
            let injected = stopChildren(i..<(i + 1))
            children.remove(at: i)
            reply(true)
            if let injected { throw injected }
        }
    }

    public override func handleExit(_ signal: ExitSignal) throws {
        guard let i = children.firstIndex(where: { $0.greenlet === signal.peer }) else {
            // Not a child: a linked parent or peer. Follow it if it ended abnormally.
            if !signal.reason.isNormal { throw LinkedExit(peer: signal.peer.name, reason: signal.reason) }
            return
        }
        children[i].greenlet = nil
        let spec = children[i].spec
        let restart: Bool
        switch spec.restart {
        case .permanent: restart = true
        case .transient: restart = !signal.reason.isExpected
        case .temporary: restart = false
        }
        guard restart else {
            if spec.restart == .temporary || strategy == .simpleOneForOne { children.remove(at: i) }
            return
        }
        try noteRestart()
        switch strategy {
        case .oneForOne, .simpleOneForOne:
            try restartChildren(i..<(i + 1))
        case .oneForAll:
            if let injected = stopChildren(children.indices) { throw injected }
            try restartChildren(children.indices)
        case .restForOne:
            if let injected = stopChildren(i..<children.count) { throw injected }
            try restartChildren(i..<children.count)
        }
    }

    public override func didStop(_ reason: ExitReason) {
        stopChildren(children.indices)
    }

    // MARK: - Mechanics

    private func noteRestart() throws {
        let now = ContinuousClock.now
        restartTimes.append(now)
        restartTimes.removeAll { now - $0 > within }
        if restartTimes.count > maxRestarts {
            throw SupervisorError.restartIntensityExceeded(supervisor: name, maxRestarts: maxRestarts, within: within)
        }
        restartCount += 1
    }

    private func startChild(at i: Int) throws {
        let g = try children[i].spec.start()
        children[i].greenlet = g
        link(to: g)
    }

    /// Starts again the children of `range` that are not running, in order.
    /// A start that fails is tried again, each attempt counting as a restart.
    /// - Throws: `restartIntensityExceeded` when the attempts exceed it.
    private func restartChildren(_ range: Range<Int>) throws {
        for i in range where children[i].greenlet == nil {
            while true {
                do {
                    try startChild(at: i)
                    break
                } catch {
                    Supervisor.logger.warning("supervisor '\(name)': child '\(children[i].spec.id)' failed to restart: \(error)")
                    try noteRestart()
                }
            }
        }
    }

    static let logger = Logger(label: "green.supervisor")

    /// Stops the live children in `range`, last first, each per its policy.
    /// - Returns: the first error injected into the supervisor while it waited
    ///   (a shutdown, a kill). It does not cut the stopping short: every child
    ///   in `range` is stopped first, then the caller throws it (never swallowed).
    @discardableResult
    private func stopChildren<R: Sequence>(_ range: R) -> (any Error)? where R.Element == Int {
        var injected: (any Error)?
        for i in Array(range).reversed() {
            guard let g = children[i].greenlet else { continue }
            children[i].greenlet = nil
            unlink(from: g)
            let e = Supervisor.stop(g, per: children[i].spec.shutdown)
            if injected == nil { injected = e }
        }
        return injected
    }

    /// Stops `g` per `policy` and waits for it to end.
    /// - Returns: the first error injected into the caller while it waited;
    ///   the wait goes on after it. A second one ends the wait (a forced kill
    ///   of the supervisor is thrown at every blocking call: it must not spin).
    /// - Note: switches.
    private static func stop(_ g: AnyGreenlet, per policy: ChildSpec.Shutdown) -> (any Error)? {
        // A child on another hub is asked (join ships there); its state is never read from here.
        let local = g.hub.isCurrentThread
        if local && g.isDead { return nil }
        var injected: (any Error)?
        var interrupted = false
        var ended = false
        /// Waits up to `limit` for `g` to end; false when it is still alive.
        func awaitEnd(_ limit: Duration?) -> Bool {
            let deadline = limit.map { ContinuousClock.now + $0 }
            while !ended && !interrupted {
                let left = deadline.map { $0 - ContinuousClock.now }
                if let left, left <= .zero { return false }
                do {
                    ended = try g.join(timeout: left)
                } catch {
                    if injected == nil { injected = error } else { interrupted = true }
                }
            }
            return ended || (local && g.isDead)
        }
        func brutal() {
            if let forceable = g as? ForceKillable {
                forceable.forceKillNoWait()
            } else {
                try? g.kill(ActorExit(reason: .killed), block: false)
            }
            _ = awaitEnd(.seconds(5))
        }
        switch policy {
        case .brutalKill:
            brutal()
        case .timeout(let d):
            try? g.kill(ActorExit(reason: .shutdown), block: false)
            if !awaitEnd(d) { brutal() } // without waiting once interrupted twice
        case .infinity:
            try? g.kill(ActorExit(reason: .shutdown), block: false)
            _ = awaitEnd(nil)
        }
        return injected
    }
}

/// Actors of any message type can be killed forcibly by a supervisor.
protocol ForceKillable { func forceKillNoWait() }
extension GreenActor: ForceKillable {
    func forceKillNoWait() { try? forceKill(block: false) }
}
