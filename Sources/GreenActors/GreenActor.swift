import Green

/// What every actor is to links, monitors and supervisors, whatever its message type.
protocol ActorNode: AnyGreenlet {
    var trapsExits: Bool { get }
    var linkPeers: [ObjectIdentifier: AnyGreenlet] { get set }
    var activeMonitors: [MonitorRef: MonitorLink] { get set }
    func deliver(exit: ExitSignal)
    func deliver(down: DownSignal)
    /// Removes exit notices from `peer` queued and not yet handled (unlink).
    func dropExitNotices(from peer: AnyGreenlet)
}

/// The actor base type: a greenlet whose run loop takes typed messages from
/// its inbox one at a time and hands each to `receive(_:)`.
///
/// Named `GreenActor` so it imports cleanly beside Swift's own `Actor`
/// protocol (see ARCHITECTURE.md).
///
/// ```swift
/// final class Ponger: GreenActor<Ping> {
///     override func receive(_ ping: Ping) throws { try ping.from.send(.pong(ping.n)) }
/// }
/// ```
///
/// Failure follows Erlang: `link(_:_:)` ties two actors (or greenlets) so an
/// abnormal end of one ends the other, unless it `trapsExits`, in which case it
/// gets `handleExit(_:)`; `monitor(_:)` delivers `handleDown(_:)` one way.
open class GreenActor<Message>: Greenlet<Void>, ActorNode {
    @usableFromInline let mailbox: Mailbox<Message>
    private var forcedKill: Bool {
        get { mailbox.ring.pointee.forcedKill }
        set { mailbox.ring.pointee.forcedKill = newValue }
    }

    /// When true, exit signals from linked peers arrive through `handleExit(_:)`
    /// instead of ending this actor. Set it before linking (supervisors do).
    public var trapsExits = false
    var linkPeers: [ObjectIdentifier: AnyGreenlet] = [:]
    var activeMonitors: [MonitorRef: MonitorLink] = [:]

    /// An actor, not started.
    /// - Parameters:
    ///   - name: for logs, dead letters and the registry ("Greenlet-N" by default).
    ///   - mailbox: its inbox's bound and overflow policy (default unbounded).
    ///   - stackSize: bytes of stack (default `Green.defaultStackSize`).
    public init(name: String? = nil, mailbox: MailboxPolicy = .unbounded, stackSize: Int? = nil) {
        self.mailbox = Mailbox(policy: mailbox, hub: Hub.forNewGreenlet)
        super.init(name: name, stackSize: stackSize)
        self.mailbox.owner = self
        link { [unowned self] _ in self.didEnd() }
    }

    // MARK: - To override

    /// Handles one message. Throwing ends the actor with `.error`.
    /// - Note: may switch (it runs in the actor's greenlet).
    open func receive(_ message: Message) throws {}

    /// Runs in the actor's greenlet before the first message. Throwing ends it.
    open func willStart() throws {}

    /// Runs in the actor's greenlet after its loop ends, with the reason.
    /// Must not block.
    open func didStop(_ reason: ExitReason) {}

    /// A linked peer ended (only when `trapsExits`). The default ends this
    /// actor too if the peer ended abnormally, as if it did not trap.
    open func handleExit(_ signal: ExitSignal) throws {
        if !signal.reason.isNormal { throw LinkedExit(peer: signal.peer.name, reason: signal.reason) }
    }

    /// A monitored greenlet ended.
    open func handleDown(_ signal: DownSignal) throws {}

    // MARK: - The run loop

    /// The run loop; actors override `receive`, not this.
    public final override func run() throws {
        var reason = ExitReason.normal
        defer { didStop(reason) }
        do {
            try willStart()
            while true {
                if let notice = mailbox.popNotice() {
                    switch notice {
                    case .exit(let s): try handleExit(s)
                    case .down(let d): try handleDown(d)
                    }
                } else if mailbox.stopDue {
                    break
                } else if mailbox.hasMessage {
                    try receive(mailbox.takeMessage())
                } else {
                    try mailbox.waitForMail()
                }
                if forcedKill { throw ActorExit(reason: .killed) }
            }
        } catch {
            // A forced kill cannot be turned into anything else.
            let e: any Error = forcedKill ? ActorExit(reason: .killed) : error
            reason = ExitReason(error: e)
            throw e
        }
    }

    // MARK: - Sending

    /// Puts `message` in the inbox (Erlang's `!`). Never blocks on an
    /// unbounded mailbox.
    ///
    /// From another hub or a plain thread, the message travels through the
    /// actor's remote inbox (a lock-free queue; see `Mailbox`) and arrives in
    /// order with the sender's other messages to it. There an unbounded or
    /// `.dropNewest` send returns at once, and a message to an actor that has
    /// ended goes to the dead letters (Erlang's `!` never fails either);
    /// `.blockSender` and `.failSend` ask the actor's hub and wait for the answer.
    /// - Throws: `MailboxError.full` (policy `.failSend`), `.actorDead`
    ///   (the message goes to the dead letters); errors injected into the
    ///   sender while it waits for room (policy `.blockSender`).
    /// - Note: switches only with `.blockSender` and a full mailbox, or across
    ///   hubs with those two policies. Any hub or thread.
    @inlinable @inline(__always)
    public final func send(_ message: Message) throws {
        if _slowPath(Hub.currentToken != mailbox.hubToken) { return try sendFromAnotherHub(message) }
        if isDead { try sendToDead(message) }
        if try !mailbox.put(message) {
            DeadLetters.record(to: name, message, why: "mailbox full")
        }
    }

    @usableFromInline
    func sendFromAnotherHub(_ message: Message) throws {
        switch mailbox.policy {
        case .unbounded, .dropNewest:
            mailbox.putRemote(message)
        case .blockSender, .failSend:
            try hub.call { [self] in try send(message) }
        }
    }

    @usableFromInline
    func sendToDead(_ message: Message) throws {
        DeadLetters.record(to: name, message, why: "actor ended")
        throw MailboxError.actorDead(actor: name)
    }

    /// Like `send`, but never throws: what cannot be delivered goes to the
    /// dead letters. Blocks only with `.blockSender` and a full mailbox.
    public final func tell(_ message: Message) {
        do { try send(message) } catch {}
    }

    /// Messages waiting in the inbox.
    public var pendingMessages: Int { mailbox.count }

    // MARK: - Ending

    /// Asks the actor to stop once it has handled the messages already queued:
    /// a normal exit. Does not block.
    /// Any hub or thread (from elsewhere the request travels to the actor's
    /// hub, after the caller's earlier sends).
    public func stop() {
        if _slowPath(Hub.currentToken != mailbox.hubToken) {
            _ = hub.runThreadsafe { [self] in stop() }
            return
        }
        guard !isDead else { return }
        mailbox.requestStop()
    }

    /// Shuts the actor down: `ActorExit(.shutdown)` is injected at its next
    /// blocking call. The actor may catch it (to finish up) and end normally.
    /// - Parameters: as `kill(_:block:timeout:)`.
    /// - Throws: errors injected into the caller while it waits.
    public func shutdown(block: Bool = true, timeout: Duration? = nil) throws {
        try kill(ActorExit(reason: .shutdown), block: block, timeout: timeout)
    }

    /// Kills the actor, forcibly (Erlang's `exit(Pid, kill)`): whatever it
    /// catches, it ends with `.killed`. `ActorExit(.killed)` is thrown at its
    /// next blocking call and at every one after (`killUntrappably`), and the
    /// run loop ends after the message in hand, so catching it and blocking
    /// again does not save the actor.
    /// - Throws: errors injected into the caller while it waits.
    /// - Note: switches when `block` is true.
    public func forceKill(block: Bool = true, timeout: Duration? = nil) throws {
        if _slowPath(Hub.currentToken != mailbox.hubToken) {
            // The flag is the actor's state: set it on its hub, before the kill arrives there.
            _ = hub.runThreadsafe { [self] in forcedKill = true }
            return try killUntrappably(ActorExit(reason: .killed), block: block, timeout: timeout)
        }
        forcedKill = true
        try killUntrappably(ActorExit(reason: .killed), block: block, timeout: timeout)
    }

    // MARK: - ActorNode

    func deliver(exit: ExitSignal) {
        if isDead { return }
        if trapsExits {
            mailbox.put(notice: .exit(exit))
        } else if !exit.reason.isNormal {
            try? kill(LinkedExit(peer: exit.peer.name, reason: exit.reason), block: false)
        }
    }

    func deliver(down: DownSignal) {
        if isDead { return }
        mailbox.put(notice: .down(down))
    }

    func dropExitNotices(from peer: AnyGreenlet) {
        mailbox.removeExitNotices(from: peer)
    }

    /// After death: notify links, and turn queued messages into dead letters.
    private func didEnd() {
        let reason = ExitReason(of: self)
        // Names go before the notices: whoever restarts this actor may register it again at once.
        Registry.shared.holderEnded(self)
        let peers = linkPeers
        linkPeers = [:]
        for peer in peers.values {
            onHub(of: peer) { deliverExit(to: peer, from: self, reason: reason) }
        }
        mailbox.drain { m in DeadLetters.record(to: name, m, why: "actor ended") }
        // Its monitors' targets let go of it (their callbacks hold it).
        let monitors = activeMonitors
        activeMonitors = [:]
        for entry in monitors.values { entry.cancel() }
    }
}

extension ExitReason {
    init(error: any Error) {
        switch error {
        case is GreenletExit: self = .normal
        case let e as ActorExit: self = e.reason
        default: self = .error(error)
        }
    }
}
