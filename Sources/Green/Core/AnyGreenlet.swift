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
///
/// Exclusivity: its stored properties, like those of `Hub`, `WaitList` and
/// `StackPool`, are `@exclusivity(unchecked)`. They are hub-confined and every
/// access to them is a short read or write that never spans a switch (the
/// methods are non-mutating and park outside any access), so Swift's dynamic
/// check could never fire; it cost about 20 runtime calls per spawn (callgrind:
/// 1,300 instructions). Users' own classes keep the check, and the switch still
/// keeps each greenlet's access set its own.
open class AnyGreenlet {
    @usableFromInline
    enum State: UInt8 {
        case unstarted, delayedStart, scheduledStart, running, ready, parked, dead
    }
    enum TimerMode: UInt8 { case sleep, timeout, start }

    @usableFromInline let record: UnsafeMutablePointer<green_record>
    /// The hub this greenlet runs on.
    @exclusivity(unchecked)
    public internal(set) unowned(unsafe) var hub: Hub!
    /// Its hub at +0, for calls on the hub's thread that would otherwise pay
    /// a retain/release pair for reading the `unowned(unsafe)` reference.
    /// Safe there: a hub outlives every call its greenlets make on its thread
    /// (it is freed when its thread ends, after `close` unwound its greenlets),
    /// and the caller holds `self`.
    @inline(__always)
    var unretainedHub: Unmanaged<Hub> { Unmanaged.passUnretained(hub.unsafelyUnwrapped) }
    /// Lives in the C record: read and written on every switch.
    @inline(__always) var state: State {
        get { State(rawValue: record.pointee.state).unsafelyUnwrapped }
        set { record.pointee.state = newValue.rawValue }
    }
    // The one-byte fields, together in one word (a parked greenlet's bytes
    // count: `Greenlet<Void>` is 216 bytes, one 224-byte malloc chunk).
    @exclusivity(unchecked)
    var hasStarted = false
    /// It holds a pool stack, described by its record's `guard_low`,
    /// `guard_high` and `stack_size` (no second copy here).
    @exclusivity(unchecked)
    private var holdsStack = false
    /// `Greenlet<Value>` has stored its result (here: a subclass's one-byte
    /// field would cost a word of its own).
    @exclusivity(unchecked)
    var hasResult = false
    @exclusivity(unchecked)
    private var timerMode: TimerMode = .sleep
    /// The hub has a pass over `linkCallbacks` queued.
    @exclusivity(unchecked)
    private var linkRunQueued = false
    @exclusivity(unchecked)
    private var failureObserved = false
    /// Set by `start()` when it hands the greenlet to its hub from another
    /// thread; read only by the thread that built it (see `ownedHere`).
    @exclusivity(unchecked)
    private var handedOver = false
    @exclusivity(unchecked)
    var stackSize: Int
    /// The injected error its next blocking call throws (see `inject(_:)`).
    @exclusivity(unchecked)
    var pendingError: (any Error)? {
        didSet { record.pointee.has_pending_error = pendingError == nil ? 0 : 1 }
    }
    /// Errors injected behind `pendingError`, in the order they will be thrown;
    /// empty but for the rare greenlet hit twice before it ran.
    @exclusivity(unchecked)
    private var laterErrors: [any Error] = []
    /// An untrappable kill (`killUntrappably`): thrown at every blocking call
    /// from the first on, until the greenlet ends.
    @exclusivity(unchecked)
    private var untrappableError: (any Error)?
    /// Timeouts started for this greenlet so far: orders nested timeouts.
    @exclusivity(unchecked)
    var timeoutsStarted: UInt64 = 0
    /// Lives in the C record, like `state`.
    @inline(__always) var wakeReason: Hub.WakeReason {
        get { Hub.WakeReason(rawValue: record.pointee.wake_reason).unsafelyUnwrapped }
        set { record.pointee.wake_reason = newValue.rawValue }
    }
    @exclusivity(unchecked)
    private var timer: UnsafeMutablePointer<ev_timer>?
    @exclusivity(unchecked)
    private var io: UnsafeMutablePointer<ev_io>?
    /// The first greenlet joining without a timeout (the common case: one
    /// parent), kept here so that a join allocates nothing; later joiners wait
    /// in `joiners`, and are woken after it (FIFO).
    ///
    /// Its record, not a reference: the joiner is alive while it is set, since
    /// it is set only while that greenlet runs or is parked inside `join` (its
    /// self-retain, or for a root its hub, keeps it; `join`'s `defer` clears it
    /// on every way out), so a retain here would only cost a pair per join.
    @exclusivity(unchecked)
    private var soleJoiner: UnsafeMutablePointer<green_record>?
    @exclusivity(unchecked)
    private var joiners: WaitList?
    /// Link callbacks not run yet. They stay here until the hub runs them,
    /// so `unlink` reaches one even after the greenlet ended.
    @exclusivity(unchecked)
    private var linkCallbacks: [(id: Int, callback: (AnyGreenlet) -> Void)] = []
    /// Link tokens of `wait(any:)` subscriptions, by signal (see Coordination/Wait.swift).
    @exclusivity(unchecked)
    var waitSubscriptions: [ObjectIdentifier: LinkToken] = [:]
    @exclusivity(unchecked)
    private var ioFD: Int32 = -1
    @exclusivity(unchecked)
    private var ioEvents: Int32 = 0
    @exclusivity(unchecked)
    var locals: [ObjectIdentifier: Any] = [:]
    @exclusivity(unchecked)
    private var failure: (any Error)?

    /// A name for logs and crash reports: "Greenlet-N" unless given.
    public var name: String {
        get { givenName ?? "Greenlet-\(record.pointee.number)" }
        set {
            givenName = newValue
            copyNameToRecord()
        }
    }
    /// The name given at creation or set later; nil for "Greenlet-N", which is
    /// only formatted when read (a spawn does not pay for it).
    @exclusivity(unchecked)
    private var givenName: String?

    /// Root and hub greenlets: they run on a thread's stack or the hub's own.
    init(rootOf hub: Hub?, name: String) {
        record = .allocate(capacity: 1)
        record.initialize(to: green_record())
        stackSize = 0
        self.givenName = name
        self.hub = hub
        hasStarted = true
        state = .running
        record.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
        copyNameToRecord()
    }

    /// A greenlet of the calling thread's hub (or of the hub a runtime's
    /// placement names), not started.
    init(spawnedName name: String?, stackSize: Int?) {
        // +0: a placement hub is kept alive by its runtime, the calling
        // thread's by its thread (see `Hub.currentUnretained`).
        let placed = green_get_placement_hub()
        let hub = placed.map { Unmanaged<Hub>.fromOpaque($0) } ?? Hub.currentUnretained
        record = .allocate(capacity: 1)
        record.initialize(to: green_record())
        self.stackSize = stackSize ?? Green.defaultStackSize
        self.givenName = name
        self.hub = hub._withUnsafeGuaranteedRef { $0 }
        record.pointee.owner = Unmanaged.passUnretained(self).toOpaque()
        record.pointee.hub_hot = hub._withUnsafeGuaranteedRef { UnsafeMutableRawPointer($0.hot) }
        if name != nil {
            copyNameToRecord()
        } else if placed == nil || hub._withUnsafeGuaranteedRef({ $0.isCurrentThread }) {
            record.pointee.number = hub._withUnsafeGuaranteedRef { $0.nextGreenletNumber() }
        } else {
            // Placed on another thread's hub: its counter is that thread's.
            record.pointee.number = Hub.offThreadGreenletNumber()
        }
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
        free(record.pointee.name)
        record.deinitialize(count: 1)
        record.deallocate()
    }

    private var liveLoop: OpaquePointer? { hub?.loop }

    /// The thread that constructed this greenlet: until `start()` hands it to
    /// its hub, that thread owns its state (a greenlet placed on another hub
    /// is set up, linked to, and started from where it was made).
    private let builtBy = pthread_self()

    /// Whether the calling thread may touch this greenlet's state directly.
    @inline(__always)
    var ownedHere: Bool {
        hub.isCurrentThread || (pthread_equal(builtBy, pthread_self()) != 0 && !handedOver)
    }


    /// Gives the record a C copy of `givenName` for the overflow report: the
    /// new copy is in place before the old one is freed (see green_record).
    private func copyNameToRecord() {
        guard let givenName else { return }
        let old = record.pointee.name
        record.pointee.name = strdup(givenName)
        free(old)
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
        try start(stealableIn: nil)
    }

    /// `start()`; with `runtime` (given by `GreenRuntime.spawn` for a greenlet
    /// whose placement let the runtime choose its hub), a start from another
    /// thread queues it where an idle hub of `runtime` may steal it (see
    /// "Idle hubs steal" in GreenRuntime.swift).
    @inline(__always)
    func start(stealableIn runtime: GreenRuntime?) throws {
        guard state == .unstarted else { throw GreenError.alreadyStarted(name: name) }
        _ = Unmanaged.passRetained(self)
        let home = unretainedHub
        if _fastPath(home._withUnsafeGuaranteedRef { $0.isCurrentThread }) {
            home._withUnsafeGuaranteedRef { h in
                h.track(self)
                h.schedule(self)
            }
            return
        }
        try startElsewhere(stealableIn: runtime)
    }

    /// `start()` from a thread other than the greenlet's hub's; the self-retain is taken.
    @inline(never)
    private func startElsewhere(stealableIn runtime: GreenRuntime?) throws {
        // Another hub's greenlet: it starts there. Until the hub runs the
        // closure, the state says "scheduled" so a second start is refused.
        state = .scheduledStart
        handedOver = true
        let home = hub!
        if let runtime {
            // The queue's element is the self-retain. Once pushed, a thief may
            // rebind the greenlet at any moment: nothing here touches `self` after.
            let (accepted, wakeOwner) = home.stealQueue.push(Unmanaged.passUnretained(self))
            if accepted {
                if wakeOwner { home.ownerWake.send() }
                Hub.nudgeThief(for: home, in: runtime)
                return
            }
            // The hub is stopping: start it the ordinary way (or fail with hubGone).
        }
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
        var s = try unretainedHub._withUnsafeGuaranteedRef { try $0.pool.take(size: stackSize) }
        holdsStack = true
        hasStarted = true
        record.pointee.sp = green_context_make(green_stack_top(&s), entry, data)
        record.pointee.guard_low = s.base
        record.pointee.guard_high = s.base.unsafelyUnwrapped + s.guard
        record.pointee.stack_size = s.mapped - s.guard
        green_fiber_create(record)
    }

    /// Gives its stack back to the hub's pool (the record keeps describing
    /// it, for the TSan fiber's teardown; nothing runs on it again).
    func releaseStack() {
        guard holdsStack else { return }
        holdsStack = false
        let low = record.pointee.guard_low.unsafelyUnwrapped
        let guardBytes = low.distance(to: record.pointee.guard_high.unsafelyUnwrapped)
        let s = green_stack(base: low, mapped: record.pointee.stack_size + guardBytes, guard: guardBytes)
        unretainedHub._withUnsafeGuaranteedRef { $0.pool.give(s, size: stackSize) }
    }

    /// Overridden by `Greenlet<Value>`: runs the body and records the outcome.
    func invokeBody() {}

    /// Runs on the greenlet's own stack, from its C entry.
    static func runBody(_ raw: UnsafeMutableRawPointer) {
        // +0: its self-retain keeps it alive until the hub reaps it, after
        // this greenlet's final switch.
        Unmanaged<AnyGreenlet>.fromOpaque(raw)._withUnsafeGuaranteedRef { g in
            if let e = g.takePendingError() {
                g.finish(failure: e)
                return
            }
            g.invokeBody()
        }
    }

    /// Records the outcome, wakes joiners, and queues link callbacks on the hub.
    func finish(failure: (any Error)?) {
        // Each field is written only when it holds something: a store of nil
        // over nil still costs a release call of the old value (the common
        // greenlet ends with no error, no queued errors and no joiner list).
        if failure != nil { self.failure = failure }
        state = .dead
        if record.pointee.has_pending_error != 0 { pendingError = nil }
        if !laterErrors.isEmpty { laterErrors = [] }
        if untrappableError != nil { untrappableError = nil }
        if let j = soleJoiner {
            soleJoiner = nil
            Hub.wakeNext(j)
        }
        if let list = joiners {
            joiners = nil
            list.wakeAll()
        }
        if !linkCallbacks.isEmpty { queueLinkCallbacks() }
    }

    /// Has the hub run the link callbacks of this dead greenlet soon.
    private func queueLinkCallbacks() {
        guard !linkRunQueued else { return }
        linkRunQueued = true
        hub.runCallback { self.runLinkCallbacks() }
    }

    /// On the hub: runs the registered link callbacks, oldest first, each
    /// taken off the list before it runs (one unlinked meanwhile never runs).
    private func runLinkCallbacks() {
        linkRunQueued = false
        while !linkCallbacks.isEmpty {
            let entry = linkCallbacks.removeFirst()
            entry.callback(self)
        }
    }

    /// Ends a greenlet that never ran (killed before start, or no stack).
    func finishWithoutRunning(_ error: any Error) {
        if state == .delayedStart { stopTimer() }
        finish(failure: error)
    }

    // MARK: - Injected errors
    //
    // The injection rule (ARCHITECTURE.md, "Kill and link"). Errors injected
    // into a greenlet (kills, fired `Timeout`s) wait to be thrown at its next
    // blocking call, one per call, best first:
    // - an injected error is never silently replaced: one that arrives while
    //   another waits is queued behind it or ahead of it, never dropped;
    // - a kill (any error that is not a `Timeout`) beats a timeout: it goes
    //   ahead of every waiting timeout;
    // - an outer timeout beats an inner one: between two timeouts, the one
    //   started first (the outer scope) is thrown first, so that expiring in
    //   the same loop pass an inner `withTimeout(fallback:)` cannot swallow
    //   the outer one;
    // - kills keep their order of arrival;
    // - a timeout cancels only its own: `Timeout.cancel()` withdraws that
    //   timeout and nothing else.
    // A timeout queued behind a kill is thrown only if the greenlet catches
    // the kill and blocks again inside the timeout's scope; leaving the scope
    // cancels it. None of this is on the switch path: the switch path reads
    // only the record's `has_pending_error` flag.

    /// Whether `a` is thrown before `b` when both wait.
    private static func precedes(_ a: any Error, _ b: any Error) -> Bool {
        switch (a as? Timeout, b as? Timeout) {
        case (nil, _?): return true // a kill beats a timeout
        case let (ta?, tb?): return ta.serial < tb.serial // the outer beats the inner
        default: return false // kills: first come, first thrown
        }
    }

    /// Injects `error` by the injection rule, without waking the greenlet.
    /// An untrappable one goes ahead of everything and stays pending.
    func inject(_ error: any Error, untrappable: Bool = false) {
        if untrappableError != nil { return } // it already ends the greenlet
        if untrappable {
            untrappableError = error
            if let head = pendingError { laterErrors.insert(head, at: 0) }
            pendingError = error
            return
        }
        guard let head = pendingError else {
            pendingError = error
            return
        }
        if AnyGreenlet.precedes(error, head) {
            laterErrors.insert(head, at: 0)
            pendingError = error
        } else {
            let i = laterErrors.firstIndex { AnyGreenlet.precedes(error, $0) } ?? laterErrors.endIndex
            laterErrors.insert(error, at: i)
        }
    }

    /// Puts back, first in line, an error just taken from this greenlet
    /// (by a blocking call that must not throw it now): it is thrown at the
    /// next blocking call.
    func reinject(_ error: any Error) {
        if untrappableError != nil && pendingError != nil { return } // still pending
        if let head = pendingError { laterErrors.insert(head, at: 0) }
        pendingError = error
    }

    /// Takes the error to throw now; the next one in line becomes pending
    /// (an untrappable kill is never taken: it stays pending).
    func takePendingError() -> (any Error)? {
        if let u = untrappableError { return u }
        guard let e = pendingError else { return nil }
        pendingError = laterErrors.isEmpty ? nil : laterErrors.removeFirst()
        return e
    }

    /// Withdraws the timeout `t` if it waits to be thrown here (its `cancel()`).
    /// It stays when it alone woke this greenlet from a blocking call that has
    /// not returned yet (cancelled from another greenlet): that call throws it,
    /// having nothing else to return.
    func withdraw(_ t: Timeout) {
        guard let head = pendingError else { return }
        if head as? Timeout === t {
            if laterErrors.isEmpty && state == .ready && wakeReason == .interrupted { return }
            _ = takePendingError()
        } else if !laterErrors.isEmpty {
            laterErrors.removeAll { $0 as? Timeout === t }
        }
    }

    // MARK: - Waking and timers (used by Hub)

    @inline(__always)
    func throwPendingError() throws {
        if record.pointee.has_pending_error != 0, let e = takePendingError() { throw e }
    }

    /// After a park: stops this wait's timer and says how it ended.
    @inline(__always)
    func afterWake() throws -> Bool {
        if let timer, green_ev_is_active(timer) != 0 { ev_timer_stop(hub.loop, timer) }
        switch wakeReason {
        case .woken, .none: return true
        case .timedOut: return false
        case .interrupted:
            throw takePendingError() ?? GreenletExit()
        }
    }

    /// Injects `error` (by the injection rule, see `inject(_:)`): a parked
    /// greenlet is woken to throw it; a ready one throws it at its next
    /// blocking call.
    func interrupt(with error: any Error, untrappable: Bool = false) {
        inject(error, untrappable: untrappable)
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
    ///
    /// Joining, without a timeout, a greenlet of this hub that was spawned
    /// moments ago and has not started runs it at once (the caller would only
    /// wait for it anyway), and the joiner runs next when it ends: fork-join
    /// code runs depth-first (see ARCHITECTURE, "Fork-join runs depth-first").
    /// - Returns: `true` when it finished, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the *caller*; `negativeTimeout`.
    /// - Note: switches.
    @discardableResult
    public func join(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        let home = unretainedHub
        if _slowPath(!home._withUnsafeGuaranteedRef { $0.isCurrentThread }) {
            return try hub.call { [self] in try join(timeout: timeout) }
        }
        if state == .dead { return true }
        // The caller's record: on this hub's thread there is one.
        let me = green_get_current().unsafelyUnwrapped
        if me == record { throw GreenError.wouldBlockForever }
        if timeout == nil && soleJoiner == nil && joiners == nil {
            soleJoiner = me
            defer { if soleJoiner == me { soleJoiner = nil } }
            // +0 hub: see `unretainedHub`.
            if try home._withUnsafeGuaranteedRef({ try $0.runUnstartedNow(self) }), state == .dead { return true }
            while state != .dead { try Hub.parkRunning() }
            return true
        }
        let list: WaitList
        if let joiners { list = joiners } else { list = WaitList(); joiners = list }
        return try list.wait(timeout: timeout)
    }

    // MARK: - Kill

    /// Ends the greenlet by injecting `error` at its next blocking call; its
    /// `defer`s run as the error unwinds it. A greenlet that never started is
    /// cancelled without running its body. Killing a dead greenlet does nothing.
    ///
    /// The injection rule: a kill is never lost nor replaced. It goes ahead of
    /// any `Timeout` that fired and was not raised yet; a second kill that
    /// arrives before the first was thrown is thrown at the blocking call after
    /// it (if the greenlet catches the first and blocks again).
    ///
    /// - Parameters:
    ///   - error: what its blocking call throws (default `GreenletExit`, a clean exit).
    ///   - block: wait until it has finished.
    ///   - timeout: how long to wait when blocking.
    /// - Throws: `error` itself when a greenlet kills itself; with `block`, errors
    ///   injected into the caller while it waits.
    /// - Note: switches when `block` is true.
    public func kill(_ error: any Error = GreenletExit(), block: Bool = true, timeout: Duration? = nil) throws {
        try kill(error, untrappable: false, block: block, timeout: timeout)
    }

    /// Kills the greenlet so that it cannot carry on (Erlang's `exit(Pid, kill)`):
    /// `error` is thrown at its next blocking call, as by `kill`, and again at
    /// every blocking call after that until it ends, so catching it and
    /// blocking again does not save it. It still runs what does not block (its
    /// `catch` clauses, its `defer`s). It goes ahead of any error waiting to be
    /// thrown; a second untrappable kill changes nothing.
    /// - Parameters: as `kill(_:block:timeout:)`.
    /// - Throws: `error` itself when a greenlet kills itself; with `block`, errors
    ///   injected into the caller while it waits.
    /// - Note: switches when `block` is true. Any hub or thread, as `kill`.
    public func killUntrappably(_ error: any Error = GreenletExit(), block: Bool = true, timeout: Duration? = nil) throws {
        try kill(error, untrappable: true, block: block, timeout: timeout)
    }

    private func kill(_ error: any Error, untrappable: Bool, block: Bool, timeout: Duration?) throws {
        if _slowPath(!hub.isCurrentThread) {
            let home = hub!
            if !block {
                // Nothing to wait for: the kill travels alone.
                if !home.runThreadsafe({ [self] in try? kill(error, untrappable: untrappable, block: false, timeout: nil) }) {
                    throw GreenError.hubGone(hub: home.description)
                }
                return
            }
            return try home.call { [self] in try kill(error, untrappable: untrappable, block: true, timeout: timeout) }
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
            if self === hub.current {
                if untrappable { inject(error, untrappable: true) } // for the blocking calls after
                throw error
            }
            inject(error, untrappable: untrappable)
        case .parked:
            interrupt(with: error, untrappable: untrappable)
        case .ready:
            inject(error, untrappable: untrappable)
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
        if _slowPath(!ownedHere) {
            // A greenlet whose hub has ended is dead and unwound: nothing to call back on.
            _ = hub.runThreadsafe { [self] in attachLink(token, callback, observingFailure) }
        } else {
            attachLink(token, callback, observingFailure)
        }
        return token
    }

    private func attachLink(_ token: LinkToken, _ callback: @escaping (AnyGreenlet) -> Void, _ observingFailure: Bool) {
        if observingFailure { failureObserved = true }
        linkCallbacks.append((token.id, callback))
        if state == .dead { queueLinkCallbacks() }
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

    /// Removes one link callback, if it has not run yet: also after the
    /// greenlet ended, while its callbacks wait for the hub.
    /// - Note: does not switch. From another hub or thread, the removal travels
    ///   to the greenlet's hub; a callback already on its way may still run.
    public func unlink(_ token: LinkToken) {
        if _slowPath(!ownedHere) { _ = hub.runThreadsafe { [self] in unlink(token) }; return }
        linkCallbacks.removeAll { $0.id == token.id }
    }

    /// Removes every link callback not yet run. Any hub or thread, as `unlink(_:)`.
    public func unlink() {
        if _slowPath(!ownedHere) { _ = hub.runThreadsafe { [self] in unlink() }; return }
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
