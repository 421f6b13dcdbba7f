import Green

/// Links `a` and `b` both ways (Erlang's `link/1`): when one ends abnormally
/// the other is killed with `LinkedExit`, unless it is an actor that traps
/// exits, which gets `handleExit(_:)` instead (for any reason, normal too).
/// A normal exit does not end a peer. Works between actors and plain greenlets.
/// Linking to a greenlet that already ended delivers its exit at once.
/// - Note: does not switch. Any hub or thread: each side's half of the link is
///   made on that side's hub, and exits are delivered on the receiver's hub.
public func link(_ a: AnyGreenlet, _ b: AnyGreenlet) {
    guard a !== b else { return }
    // Both sides record the link before either can report an exit, so an exit
    // (which needs the link to stand on the receiving side) never arrives first.
    onHub(of: a) { register(a, peer: b) }
    onHub(of: b) { register(b, peer: a) }
    onHub(of: a) { watch(a, for: b) }
    onHub(of: b) { watch(b, for: a) }
}

/// Removes the link between `a` and `b`, if any. On the caller's side at once,
/// on the other's hub in order with the caller's other requests there. An
/// exit notice of one already queued for the other (a trapping actor that has
/// not handled it yet), or still on its way from another hub, is dropped, as
/// OTP's supervisor flushes it after unlinking a child it stops.
/// Does not switch. Any hub or thread.
public func unlink(_ a: AnyGreenlet, _ b: AnyGreenlet) {
    onHub(of: a) { cut(a, from: b) }
    onHub(of: b) { cut(b, from: a) }
}

/// Runs `work` on `g`'s hub: at once when that is the calling thread's hub,
/// else through the hub's thread-safe entry, in order with the caller's other
/// requests there. (An actor's links, monitors and notices are its hub's state.)
func onHub(of g: AnyGreenlet, _ work: @escaping () -> Void) {
    if g.hub.isCurrentThread { work() } else { _ = g.hub.runThreadsafe(work) }
}

/// On `g`'s hub: `g`'s half of the link with `peer`.
private func register(_ g: AnyGreenlet, peer: AnyGreenlet) {
    if let node = g as? ActorNode {
        node.linkPeers[ObjectIdentifier(peer)] = peer
    } else {
        LinkTable.add(g, peer)
    }
}

/// On `g`'s hub: undoes `register` and drops what is queued of `peer`'s exit.
private func cut(_ g: AnyGreenlet, from peer: AnyGreenlet) {
    if let node = g as? ActorNode {
        node.linkPeers[ObjectIdentifier(peer)] = nil
        node.dropExitNotices(from: peer)
    }
    LinkTable.remove(g, peer)
}

/// On `g`'s hub: arranges for `peer` to hear of `g`'s end (at once if it has ended).
private func watch(_ g: AnyGreenlet, for peer: AnyGreenlet) {
    if g is ActorNode {
        // An actor notifies its peers itself when it ends (GreenActor.didEnd).
        if g.isDead { notify(peer, of: g) }
        return
    }
    // A plain greenlet: a one-shot callback, honoured only while the link stands.
    let pair = PairSet.Pair(g, peer)
    g.link { [weak peer] dead in
        let table = LinkTable.pairs
        guard table.pairs.remove(pair) != nil, let peer else { return }
        notify(peer, of: dead)
    }
}

/// Tells `peer` (on its own hub) that `dead` ended. Called on `dead`'s hub.
private func notify(_ peer: AnyGreenlet, of dead: AnyGreenlet) {
    let reason = ExitReason(of: dead)
    onHub(of: peer) { deliverExit(to: peer, from: dead, reason: reason) }
}

/// On `peer`'s hub: an exit signal for an actor, a `LinkedExit` kill for a
/// greenlet, if the link still stands there (an exit that crossed hubs while
/// `unlink` ran is dropped).
func deliverExit(to peer: AnyGreenlet, from dead: AnyGreenlet, reason: ExitReason) {
    if let node = peer as? ActorNode {
        guard node.linkPeers.removeValue(forKey: ObjectIdentifier(dead)) != nil else { return }
        node.deliver(exit: ExitSignal(peer: dead, reason: reason))
    } else if !reason.isNormal, !peer.isDead {
        try? peer.kill(LinkedExit(peer: dead.name, reason: reason), block: false)
    }
}

/// Links whose dead side is a plain greenlet, kept on that greenlet's hub.
enum LinkTable {
    static var pairs: PairSet { Hub.current.local(PairSet.self) { PairSet() } }
    private static var table: PairSet { pairs }
    static func add(_ g: AnyGreenlet, _ peer: AnyGreenlet) { table.pairs.insert(PairSet.Pair(g, peer)) }
    static func remove(_ a: AnyGreenlet, _ b: AnyGreenlet) {
        let t = table
        t.pairs.remove(PairSet.Pair(a, b))
        t.pairs.remove(PairSet.Pair(b, a))
    }
    static func contains(_ g: AnyGreenlet, _ peer: AnyGreenlet) -> Bool { table.pairs.contains(PairSet.Pair(g, peer)) }
}

/// A set of (greenlet, peer) pairs of one hub.
final class PairSet {
    struct Pair: Hashable {
        let a: ObjectIdentifier
        let b: ObjectIdentifier
        init(_ a: AnyGreenlet, _ b: AnyGreenlet) { self.a = ObjectIdentifier(a); self.b = ObjectIdentifier(b) }
    }
    var pairs: Set<Pair> = []
}

// MARK: - Monitors

private var nextMonitorID: UInt64 = 0
private let monitorLock = PThreadLock()

extension GreenActor {
    /// Watches `target` one way (Erlang's `monitor/2`): when it ends, this
    /// actor gets `handleDown(_:)` with the reason. Monitoring a greenlet that
    /// already ended delivers the notice at once.
    /// - Returns: the monitor, for `demonitor(_:)`.
    /// - Note: does not switch.
    /// - Note: does not switch. Any hub or thread: the target may live on
    ///   another hub; the notice is delivered on this actor's hub.
    @discardableResult
    public func monitor(_ target: AnyGreenlet) -> MonitorRef {
        let ref = monitorLock.withLock { () -> MonitorRef in
            nextMonitorID += 1
            return MonitorRef(id: nextMonitorID)
        }
        let entry = MonitorLink(target: target)
        onHub(of: self) { self.activeMonitors[ref] = entry }
        // The callback holds this actor strongly, not weakly: a weak
        // reference would give the actor a side table for the rest of its
        // life, and every retain and release of it (each message that
        // carries it, as a ping carries its sender) would take the runtime's
        // slow path. The cycle (target, callback, self, entry, target) ends
        // when the target ends, at `demonitor`, or when this actor ends
        // (`didEnd` unlinks its monitors).
        let token = target.link { dead in
            let signal = DownSignal(monitor: ref, peer: dead, reason: ExitReason(of: dead))
            onHub(of: self) {
                guard self.activeMonitors.removeValue(forKey: ref) != nil else { return }
                self.deliver(down: signal)
            }
        }
        onHub(of: self) {
            entry.token = token
            // Cancelled, or this actor ended, before the token was known.
            if self.activeMonitors[ref] == nil || self.isDead { target.unlink(token) }
        }
        return ref
    }

    /// Cancels a monitor: no down notice will come from it, and the target
    /// no longer holds this actor. Does not switch.
    /// Any hub or thread (the cancel travels to this actor's hub).
    public func demonitor(_ ref: MonitorRef) {
        onHub(of: self) {
            guard let entry = self.activeMonitors.removeValue(forKey: ref) else { return }
            entry.cancel()
        }
    }

    /// Links this actor with `other` (see `link(_:_:)`).
    public func link(to other: AnyGreenlet) { GreenActors.link(self, other) }
    /// Removes the link with `other`.
    public func unlink(from other: AnyGreenlet) { GreenActors.unlink(self, other) }
}

/// One monitor an actor holds: its target and the link callback that will
/// tell of the target's end (to take back at `demonitor` or when the actor
/// ends). Touched on the watching actor's hub only.
final class MonitorLink {
    let target: AnyGreenlet
    var token: LinkToken?
    init(target: AnyGreenlet) { self.target = target }

    /// The target no longer holds the watcher.
    func cancel() {
        if let token { target.unlink(token) }
    }
}
