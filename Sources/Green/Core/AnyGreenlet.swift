import Atomics
import CGreenContext
import CLibev
import Glibc
import Logging

/// What every greenlet is, whatever its result type: its context, its state,
/// kill and link. `Greenlet<Value>` adds the typed result.
///
/// Lifetime: a started greenlet keeps itself alive (one self-retain) until it
/// has finished and the hub has taken back its stack, so dropping every handle
/// to a running greenlet does not stop it.
///
/// Thread-safety: a greenlet belongs to one hub (the calling thread's, or the
/// one a `GreenRuntime` placed it on) and never moves once started. `start`,
/// `join`, `kill` and `Greenlet.get` may be called from any hub or thread: from
/// elsewhere they run on the greenlet's hub while the caller waits on its own.
/// Other members are for its hub's thread.
open class AnyGreenlet {
    @usableFromInline
    enum State: UInt8 {
        case unstarted, delayedStart, scheduledStart, running, ready, parked, dead
    }
    enum TimerMode: UInt8 { case sleep, timeout, start }

    @usableFromInline let record: UnsafeMutablePointer<green_record>
    /// The hub this greenlet runs on.
    public internal(set) unowned(unsafe) var hub: Hub!
    /// Lives in the C record: read and written on every switch.
    @inline(__always) var state: State {
        get { State(rawValue: record.pointee.state).unsafelyUnwrapped }
        set { record.pointee.state = newValue.rawValue }
    }
    var hasStarted = false
    var stack: green_stack?
    var stackSize: Int
    var pendingError: (any Error)? {
        didSet { record.pointee.has_pending_error = pendingError == nil ? 0 : 1 }
    }
    /// Lives in the C record, like `state`.
    @inline(__always) var wakeReason: Hub.WakeReason {
        get { Hub.WakeReason(rawValue: record.pointee.wake_reason).unsafelyUnwrapped }
        set { record.pointee.wake_reason = newValue.rawValue }
    }
    private var timer: UnsafeMutablePointer<ev_timer>?
    private var timerMode: TimerMode = .sleep
    private var io: UnsafeMutablePointer<ev_io>?
    private var joiners: WaitList?
    private var linkCallbacks: [(id: Int, callback: (AnyGreenlet) -> Void)] = []
    /// Link tokens of `wait(any:)` subscriptions, by signal (see Coordination/Wait.swift).
    var waitSubscriptions: [ObjectIdentifier: LinkToken] = [:]
    private var ioFD: Int32 = -1
    private var ioEvents: Int32 = 0
    var locals: [ObjectIdentifier: Any] = [:]
    private var failure: (any Error)?
    private var failureObserved = false

    /// A name for logs and crash reports: "Greenlet-N" unless given.
    public var name: String {
        didSet { copyNameToRecord() }
    }

    /// Root and hub greenlets: they run on a thread's stack or the hub's own.
    init(rootOf hub: Hub?, name: String) {
        record = .allocate(capacity: 1)
        record.initialize(to: green_record())
        stackSize = 0
        self.name = name
        self.hub = hub
        hasStarted = true
        state = .running
        record.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
        copyNameToRecord()
    }

    /// A greenlet of the calling thread's hub (or of the hub a runtime's
    /// placement names), not started.
    init(spawnedName name: String?, stackSize: Int?) {
        let hub = Hub.forNewGreenlet
        record = .allocate(capacity: 1)
        record.initialize(to: green_record())
        self.stackSize = stackSize ?? Green.defaultStackSize
        self.name = name ?? hub.nextName()
        self.hub = hub
        record.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
        record.pointee.hub_hot = UnsafeMutableRawPointer(hub.hot)
        copyNameToRecord()
    }

    deinit {
        if let failure, !failureObserved, !(failure is GreenletExit) {
            Hub.logger.error("greenlet '\(name)' failed and nobody read its error: \(failure)")
        }
        if let timer {
            if hub != nil, green_ev_is_active(timer) != 0, let loop = liveLoop { ev_timer_stop(loop, timer) }
            timer.deallocate()
        }
        if let io {
            if hub != nil, green_ev_is_active(io) != 0, let loop = liveLoop { ev_io_stop(loop, io) }
            io.deallocate()
        }
        green_fiber_destroy(record)
        record.deinitialize(count: 1)
        record.deallocate()
    }

    private var liveLoop: OpaquePointer? { hub?.loop }

    private func copyNameToRecord() {
        withUnsafeMutableBytes(of: &record.pointee.name) { buf in
            let utf8 = Array(name.utf8.prefix(buf.count - 1))
            buf.copyBytes(from: utf8)
            buf[utf8.count] = 0
        }
    }

    // MARK: - State (gevent's started / ready() / successful() / exception)

    /// The running greenlet of the calling thread (its root greenlet outside any spawned one).
    public static var current: AnyGreenlet { Hub.current.current }

    /// Whether `start()` was called (or `spawn` started it).
    public var isStarted: Bool { state != .unstarted }
    /// Whether it has finished, by returning, throwing, or being killed.
    public var isReady: Bool { state == .dead }
    /// Whether it finished by returning (or by `GreenletExit`, a clean kill).
    public var isSuccessful: Bool { state == .dead && (failure == nil || failure is GreenletExit) }
    /// Whether it is finished; an alias of `isReady`.
    @inlinable public final var isDead: Bool { record.pointee.state == State.dead.rawValue }
    /// The error it ended with, if any (reading it counts as handling it).
    public var error: (any Error)? {
        failureObserved = true
        return failure
    }

    // MARK: - Running

    /// Schedules the greenlet to run on its hub.
    /// - Throws: `GreenError.alreadyStarted` when started (or killed) before.
    /// - Note: does not switch.
    public func start() throws {
        guard state == .unstarted else { throw GreenError.alreadyStarted(name: name) }
        _ = Unmanaged.passRetained(self)
        if _fastPath(hub.isCurrentThread) {
            hub.track(self)
            hub.schedule(self)
            return
        }
        // Another hub's greenlet: it starts there. Until the hub runs the
        // closure, the state says "scheduled" so a second start is refused.
        state = .scheduledStart
        let home = hub!
        let posted = home.runThreadsafe { [self] in
            home.track(self)
            if state == .scheduledStart { home.hot.pointee.ready.append(UnsafeMutableRawPointer(record)) }
            else { Hub.releaseSelfRetain(Unmanaged.passUnretained(self).toOpaque()) }
        }
        if !posted {
            Unmanaged.passUnretained(self).release()
            state = .unstarted
            throw GreenError.hubGone(hub: home.description)
        }
    }

    /// Schedules the greenlet to start after `delay`.
    /// - Throws: `alreadyStarted`; `negativeTimeout` for a negative delay.
    public func start(after delay: Duration) throws {
        guard state == .unstarted else { throw GreenError.alreadyStarted(name: name) }
        _ = try validated(delay)
        guard hub.isCurrentThread else {
            throw GreenError.wrongHub(what: "greenlet '\(name)'", owner: hub.description, caller: Hub.callerDescription)
        }
        _ = Unmanaged.passRetained(self)
        hub.track(self)
        state = .delayedStart
        startTimer(after: delay, mode: .start)
    }

    /// Makes a stack and a fresh context for the first switch.
    func prepareStack(entry: green_entry_fn, data: UnsafeMutableRawPointer) throws {
        var s = try hub.pool.take(size: stackSize)
        stack = s
        hasStarted = true
        record.pointee.sp = green_context_make(green_stack_top(&s), entry, data)
        record.pointee.guard_low = s.base
        record.pointee.guard_high = s.base.map { $0 + s.guard }
        record.pointee.stack_size = s.mapped - s.guard
        record.pointee.stack_bottom = record.pointee.guard_high
        green_fiber_create(record)
    }

    func releaseStack() {
        if let s = stack {
            hub.pool.give(s, size: stackSize)
            stack = nil
        }
    }

    /// Overridden by `Greenlet<Value>`: runs the body and records the outcome.
    func invokeBody() {}

    /// Runs on the greenlet's own stack, from its C entry.
    static func runBody(_ raw: UnsafeMutableRawPointer) {
        let g = Unmanaged<AnyGreenlet>.fromOpaque(raw).takeUnretainedValue()
        if let e = g.pendingError {
            g.pendingError = nil
            g.finish(failure: e)
            return
        }
        g.invokeBody()
    }

    /// Records the outcome, wakes joiners, and queues link callbacks on the hub.
    func finish(failure: (any Error)?) {
        self.failure = failure
        state = .dead
        pendingError = nil
        joiners?.wakeAll()
        joiners = nil
        if !linkCallbacks.isEmpty {
            let callbacks = linkCallbacks
            linkCallbacks = []
            hub.runCallback { for entry in callbacks { entry.callback(self) } }
        }
    }

    /// Ends a greenlet that never ran (killed before start, or no stack).
    func finishWithoutRunning(_ error: any Error) {
        if state == .delayedStart { stopTimer() }
        finish(failure: error)
    }

    // MARK: - Waking and timers (used by Hub)

    @inline(__always)
    func throwPendingError() throws {
        if record.pointee.has_pending_error != 0, let e = pendingError {
            pendingError = nil
            throw e
        }
    }

    /// After a park: stops this wait's timer and says how it ended.
    @inline(__always)
    func afterWake() throws -> Bool {
        if let timer, green_ev_is_active(timer) != 0 { ev_timer_stop(hub.loop, timer) }
        switch wakeReason {
        case .woken, .none: return true
        case .timedOut: return false
        case .interrupted:
            let e = pendingError ?? GreenletExit()
            pendingError = nil
            throw e
        }
    }

    /// Injects `error`: a parked greenlet is woken to throw it; a ready one
    /// throws it at its next blocking call.
    func interrupt(with error: any Error) {
        pendingError = error
        if state == .parked {
            wakeReason = .interrupted
            stopIO()
            hub.schedule(self)
        }
    }

    func startTimer(after: Duration, mode: TimerMode) {
        let t: UnsafeMutablePointer<ev_timer>
        if let timer { t = timer } else {
            t = .allocate(capacity: 1)
            t.initialize(to: ev_timer())
            green_ev_timer_init(t, greenletTimerFired, 0, 0)
            green_ev_set_data(t, Unmanaged.passUnretained(self).toOpaque())
            timer = t
        }
        timerMode = mode
        // libev's clock is cached since the last poll, which may be a while ago
        // when greenlets kept each other busy: refresh it so timeouts are measured
        // from now.
        ev_now_update(hub.loop)
        green_ev_timer_set(t, max(after.greenSeconds, 0), 0)
        ev_timer_start(hub.loop, t)
    }

    func stopTimer() {
        if let timer, green_ev_is_active(timer) != 0 { ev_timer_stop(hub.loop, timer) }
    }

    fileprivate func timerFired() {
        switch timerMode {
        case .sleep:
            hub.wake(self)
        case .timeout:
            if state == .parked {
                wakeReason = .timedOut
                stopIO()
                hub.schedule(self)
            }
        case .start:
            if state == .delayedStart { hub.schedule(self) }
        }
    }

    func startIO(fd: Int32, events: Int32) {
        let w: UnsafeMutablePointer<ev_io>
        if let io { w = io } else {
            w = .allocate(capacity: 1)
            w.initialize(to: ev_io())
            green_ev_io_init(w, greenletIOReady, fd, events)
            green_ev_set_data(w, Unmanaged.passUnretained(self).toOpaque())
            io = w
        }
        // Setting the same fd and mask again would make libev issue an
        // epoll_ctl on every wait: only set what changed.
        if fd != ioFD || events != ioEvents {
            green_ev_io_set(w, fd, events)
            ioFD = fd
            ioEvents = events
        }
        ev_io_start(hub.loop, w)
    }

    @inline(__always)
    func stopIO() {
        if let io, green_ev_is_active(io) != 0 { ev_io_stop(hub.loop, io) }
    }

    // MARK: - Join

    /// Waits until the greenlet has finished.
    /// - Returns: `true` when it finished, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the *caller*; `negativeTimeout`.
    /// - Note: switches.
    @discardableResult
    public func join(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        if _slowPath(!hub.isCurrentThread) {
            return try hub.call { [self] in try join(timeout: timeout) }
        }
        if state == .dead { return true }
        if self === hub.current { throw GreenError.wouldBlockForever }
        let list: WaitList
        if let joiners { list = joiners } else { list = WaitList(); joiners = list }
        return try list.wait(timeout: timeout)
    }

    // MARK: - Kill

    /// Ends the greenlet by injecting `error` at its next blocking call; its
    /// `defer`s run as the error unwinds it. A greenlet that never started is
    /// cancelled without running its body. Killing a dead greenlet does nothing.
    ///
    /// - Parameters:
    ///   - error: what its blocking call throws (default `GreenletExit`, a clean exit).
    ///   - block: wait until it has finished.
    ///   - timeout: how long to wait when blocking.
    /// - Throws: `error` itself when a greenlet kills itself; with `block`, errors
    ///   injected into the caller while it waits.
    /// - Note: switches when `block` is true.
    public func kill(_ error: any Error = GreenletExit(), block: Bool = true, timeout: Duration? = nil) throws {
        if _slowPath(!hub.isCurrentThread) {
            let home = hub!
            if !block {
                // Nothing to wait for: the kill travels alone.
                if !home.runThreadsafe({ [self] in try? kill(error, block: false) }) {
                    throw GreenError.hubGone(hub: home.description)
                }
                return
            }
            return try home.call { [self] in try kill(error, block: true, timeout: timeout) }
        }
        switch state {
        case .dead:
            return
        case .unstarted:
            finish(failure: error)
            return
        case .delayedStart:
            finishWithoutRunning(error)
            Hub.releaseSelfRetain(Unmanaged.passUnretained(self).toOpaque())
            return
        case .scheduledStart:
            // Still in the ready queue: the queue entry keeps the self-retain until popped.
            finish(failure: error)
            return
        case .running:
            if self === hub.current { throw error }
            pendingError = error
        case .parked:
            interrupt(with: error)
        case .ready:
            pendingError = error
        }
        if block { try join(timeout: timeout) }
    }

    /// Injects `error` into the greenlet, like `kill(error, block: false)`, and
    /// lets it run at once, as gevent's `Greenlet.throw` does.
    /// - Throws: errors injected into the caller while it yields.
    /// - Note: switches.
    public func `throw`(_ error: any Error) throws {
        try kill(error, block: false)
        try hub.yield()
    }

    // MARK: - Links

    /// Calls `callback` with this greenlet after it finishes, however it ends.
    /// The greenlet's hub runs it (never the greenlet itself); it must not
    /// block. If the greenlet is already finished, the callback runs on the hub soon.
    /// Linking does not count as reading the greenlet's error: a failure that
    /// nothing reads is still logged.
    /// - Returns: a token for `unlink(_:)`.
    /// - Note: does not switch. May be called from any hub or thread: the link
    ///   is then made on the greenlet's hub (in order with the caller's other
    ///   requests there), and the callback still runs on the greenlet's hub.
    @discardableResult
    public func link(_ callback: @escaping (AnyGreenlet) -> Void) -> LinkToken {
        addLink(callback, observingFailure: false)
    }

    private func addLink(_ callback: @escaping (AnyGreenlet) -> Void, observingFailure: Bool) -> LinkToken {
        let token = LinkToken(id: LinkToken.counter.loadThenWrappingIncrement(ordering: .relaxed))
        if _slowPath(!hub.isCurrentThread) {
            // A greenlet whose hub has ended is dead and unwound: nothing to call back on.
            _ = hub.runThreadsafe { [self] in attachLink(token, callback, observingFailure) }
        } else {
            attachLink(token, callback, observingFailure)
        }
        return token
    }

    private func attachLink(_ token: LinkToken, _ callback: @escaping (AnyGreenlet) -> Void, _ observingFailure: Bool) {
        if observingFailure { failureObserved = true }
        if state == .dead {
            hub.runCallback { callback(self) }
        } else {
            linkCallbacks.append((token.id, callback))
        }
    }

    /// Calls `callback` only if the greenlet finishes successfully.
    @discardableResult
    public func linkValue(_ callback: @escaping (AnyGreenlet) -> Void) -> LinkToken {
        link { g in if g.isSuccessful { callback(g) } }
    }

    /// Calls `callback` with the error only if the greenlet fails (this counts
    /// as reading the error).
    @discardableResult
    public func linkError(_ callback: @escaping (AnyGreenlet, any Error) -> Void) -> LinkToken {
        addLink({ g in
            if !g.isSuccessful, let e = g.failure { callback(g, e) }
        }, observingFailure: true)
    }

    /// Removes one link callback, if it has not run yet.
    /// - Note: does not switch. From another hub or thread, the removal travels
    ///   to the greenlet's hub; a callback already on its way may still run.
    public func unlink(_ token: LinkToken) {
        if _slowPath(!hub.isCurrentThread) { _ = hub.runThreadsafe { [self] in unlink(token) }; return }
        linkCallbacks.removeAll { $0.id == token.id }
    }

    /// Removes every link callback not yet run. Any hub or thread, as `unlink(_:)`.
    public func unlink() {
        if _slowPath(!hub.isCurrentThread) { _ = hub.runThreadsafe { [self] in unlink() }; return }
        linkCallbacks.removeAll()
    }

    /// When this greenlet fails, kills `other` with a `LinkedFailure` naming it
    /// and its error (the base of actor links). A clean exit does nothing.
    public func linkFailure(to other: AnyGreenlet) {
        _ = addLink({ [weak other] g in
            guard let other, !g.isSuccessful, let e = g.failure else { return }
            try? other.kill(LinkedFailure(peer: g.name, reason: e), block: false)
        }, observingFailure: true)
    }

    var failureValue: (any Error)? { failure }
}

/// Identifies one link callback, for `AnyGreenlet.unlink(_:)`.
public struct LinkToken: Hashable, Sendable {
    let id: Int
    /// Process-wide, so a token can be made on any thread without asking the greenlet's hub.
    static let counter = ManagedAtomic<Int>(1)
}

private let greenletTimerFired: green_ev_timer_cb = { _, w, _ in
    let g = Unmanaged<AnyGreenlet>.fromOpaque(green_ev_get_data(w)!).takeUnretainedValue()
    g.timerFired()
}

private let greenletIOReady: green_ev_io_cb = { loop, w, _ in
    ev_io_stop(loop, w)
    let g = Unmanaged<AnyGreenlet>.fromOpaque(green_ev_get_data(w)!).takeUnretainedValue()
    g.hub.wake(g)
}
