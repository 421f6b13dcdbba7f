import Foundation
import Green
import GreenActors
import GreenAMQP

/// Supervision across nodes: a supervisor on one node keeps a child alive
/// on another (Erlang starting a child with `rpc` on a remote node).
///
/// ```swift
/// // the worker's node:
/// try workers.spawnable("counter") { Counter() }
/// // the supervisor's node:
/// let sup = Supervisor(children: [boss.remoteChild(id: "counter", kind: "counter", on: ["workers"])])
/// ```
///
/// Protocol: the supervising node sends `spawn` (kind, a fresh name) to the
/// first of the child's nodes not known to be down and waits for the reply;
/// the node starts an actor from its factory and registers it under that
/// name. The child the supervisor holds is a local proxy greenlet:
/// - the remote actor ends → the proxy ends normally when it did, else with
///   `RemoteDown` (so a `transient` child is restarted after anything but a
///   normal end), and `Restart` applies as for a local child;
/// - its node vanishes or leaves → the proxy ends with `RemoteDown` (within
///   the node's stated bound, `downAfter + beat`), and the restart goes to
///   the next node of the list that is up (or to the same node when it
///   came back);
/// - the supervisor shuts the proxy down (or kills it) → the proxy sends
///   `stop` with that reason to the node and, for a shutdown, waits for the
///   actor's end notice, within the child's `Shutdown` as for a local child.
///
/// Each start uses a new name (`SUPERVISOR-NODE/ID#N`), so a restarted
/// incarnation is never confused with the one before; the proxy's name is
/// `remote:NODE/NAME` (`remoteChildAddress(of:)` reads it back to reach the
/// current incarnation with `ref`).
extension Node {
    /// Lets supervisors on other nodes start actors of `kind` here: `make`
    /// builds one (not started); the node starts it and registers it under
    /// the name the supervisor chose.
    /// - Note: does not switch. On the node's hub; `make` runs there.
    public func spawnable<Message: Codable>(_ kind: String, _ make: @escaping () throws -> GreenActor<Message>) {
        factories[kind] = { [unowned self] name in
            let actor = try make()
            try actor.start()
            do {
                try register(actor, as: name)
            } catch {
                actor.stop()
                throw error
            }
            stoppers[name] = { [weak actor] reason in
                guard let actor else { return }
                switch reason {
                case .normal: actor.stop()
                case .shutdown: try? actor.shutdown(block: false)
                default: try? actor.forceKill(block: false)
                }
            }
        }
    }

    /// A child spec for a supervisor on this node whose child runs on
    /// another: the first node of `nodes` that is up and starts it.
    /// - Parameters:
    ///   - kind: what the node's `spawnable` registered.
    ///   - startTimeout: how long one node may take to answer a start.
    /// - Note: the supervisor must run on this node's hub (its start and stop
    ///   send through the node).
    public func remoteChild(id: String, kind: String, on nodes: [String],
                            restart: ChildSpec.Restart = .permanent, shutdown: ChildSpec.Shutdown? = nil,
                            startTimeout: Duration = .seconds(5)) -> ChildSpec {
        ChildSpec(id: id, restart: restart, shutdown: shutdown) { [unowned self] in
            try startRemoteChild(id: id, kind: kind, on: nodes, timeout: startTimeout)
        }
    }

    /// The node and registered name of the remote child `proxy` stands for
    /// (a greenlet from `Supervisor.child(_:)`), to reach it with `ref(_:on:)`;
    /// nil for any other greenlet.
    /// - Note: does not switch. Any hub (it reads the proxy's name).
    public func remoteChildAddress(of proxy: AnyGreenlet) -> (node: String, actor: String)? {
        guard proxy is RemoteProxy, proxy.name.hasPrefix("remote:") else { return nil }
        let rest = proxy.name.dropFirst("remote:".count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
    }

    /// Starts one incarnation of a remote child and returns its proxy.
    /// - Throws: `RemoteError.noNodeStarted` with each node's failure.
    /// - Note: switches.
    func startRemoteChild(id: String, kind: String, on nodes: [String], timeout: Duration) throws -> AnyGreenlet {
        var failures: [String] = []
        for target in nodes {
            if let why = downNodes[target] {
                failures.append("\(target): \(why)")
                continue
            }
            childIncarnation += 1
            let actor = "\(name)/\(id)#\(childIncarnation)"
            do {
                try requestSpawn(kind: kind, as: actor, on: target, timeout: timeout)
            } catch {
                failures.append("\(target): \(error)")
                continue
            }
            let proxy = RemoteProxy(node: target, actor: actor) { [weak self] reason in
                self?.sendStop(actor, on: target, reason: reason)
            }
            proxies[target, default: [:]][actor] = proxy
            // Its supervisor reads how it ended (or unlinked it to stop it): not a lost error.
            proxy.link { dead in _ = dead.error }
            try proxy.start()
            return proxy
        }
        throw RemoteError.noNodeStarted(child: id, failures: failures)
    }

    /// Asks `target` to start a `kind` registered as `actor`, and waits for its answer.
    /// - Throws: `RemoteError.spawnRefused`, `.askTimedOut`, `.down`; the client's errors.
    /// - Note: switches.
    private func requestSpawn(kind: String, as actor: String, on target: String, timeout: Duration) throws {
        askCounter += 1
        let id = "\(name)#\(askCounter)"
        let result = AsyncResult<AMQPDelivery>()
        pendingAsks[id] = (target, actor, result)
        defer { pendingAsks[id] = nil }
        watch(target)
        let p = AMQPProperties(headers: ["from": .string(name), "kind": .string(kind), "actor": .string(actor)],
                               correlationId: id, replyTo: name, type: "spawn")
        try client.publishUnconfirmed([], exchange: Self.exchange, routingKey: target, properties: p, mandatory: true)
        let reply: AMQPDelivery
        do {
            reply = try result.get(timeout: timeout)
        } catch is Timeout where !result.isReady {
            throw RemoteError.askTimedOut(node: target, actor: actor, timeout: timeout)
        }
        if let refused = reply.properties.headers?["error"]?.string {
            throw RemoteError.spawnRefused(node: target, kind: kind, reason: refused)
        }
    }

    private func sendStop(_ actor: String, on target: String, reason: ExitReason) {
        let how = reason.isNormal ? "normal" : (reason.isExpected ? "shutdown" : "kill")
        let p = AMQPProperties(headers: ["from": .string(name), "actor": .string(actor), "exit": .string(how)], type: "stop")
        try? client.publishUnconfirmed([], exchange: Self.exchange, routingKey: target, properties: p)
    }

    /// `spawn` and `stop` from a remote supervisor (the dispatcher greenlet).
    func handleChildRequest(_ d: AMQPDelivery, from: String) {
        let headers = d.properties.headers ?? [:]
        let actor = headers["actor"]?.string ?? ""
        if d.properties.type == "stop" {
            let reason: ExitReason = switch headers["exit"]?.string {
            case "normal": .normal
            case "shutdown": .shutdown
            default: .killed
            }
            stoppers[actor]?(reason)
            return
        }
        let kind = headers["kind"]?.string ?? ""
        var error: String?
        if let make = factories[kind] {
            do { try make(actor) } catch let e { error = "\(e)" }
        } else {
            error = "no spawnable kind '\(kind)' on node '\(name)'"
        }
        guard let id = d.properties.correlationId else { return }
        var h: FieldTable = ["from": .string(name)]
        if let error { h["error"] = .string(error) }
        let p = AMQPProperties(headers: h, correlationId: id, type: "reply")
        try? client.publishUnconfirmed([], exchange: Self.exchange, routingKey: from, properties: p)
    }
}
