import CGreenContext
import CLibev
import Glibc
import Atomics
import Logging

/// The per-thread scheduler: a libev loop and a FIFO of ready greenlets.
///
/// A hub is created lazily the first time a thread spawns or blocks; the
/// thread's own stack becomes its root greenlet (no `run {}` wrapper needed).
/// The hub itself runs on a greenlet of its own, which polls libev when no
/// greenlet is ready and runs callbacks (links, watchers) that must not block.
///
/// Scheduling: a greenlet that blocks or yields hands off *directly* to the
/// next ready greenlet, without passing through the hub, for up to
/// `handoffBudget` hand-offs; then the hub polls libev without blocking
/// (`ev_run(EVRUN_NOWAIT)`, which also refreshes libev's clock) so timers and
/// I/O are not starved by greenlets that keep each other busy.
///
/// Thread-safety: a hub and its greenlets belong to one OS thread. Other
/// threads may call `runThreadsafe(_:)`, `isCurrentThread`, `id`, `load` and
/// `description`; everything else is for the hub's own thread (see CrossHub.swift
/// for how the thread-safe types reach a hub from elsewhere).
public final class Hub: @unchecked Sendable {
    static let handoffBudget = 128
    static let logger = Logger(label: "green.hub")

    /// The libev loop of this hub.
    let loop: OpaquePointer
    /// The OS thread this hub belongs to.
    let thread: pthread_t
    /// The thread's original stack, as a greenlet.
    let root: AnyGreenlet
    /// The greenlet the hub loop runs on.
    @exclusivity(unchecked)
    private(set) var hubGreenlet: AnyGreenlet!
    let pool: StackPool

    /// Hot scheduler state behind a pointer: accesses through it are not
    /// exclusivity-checked, which keeps the switch path to a few loads/stores.
    let hot: UnsafeMutablePointer<HotState>
    struct HotState {
        var ready = ReadyQueue()
        var budget = Hub.handoffBudget
        /// A greenlet that finished and whose stack and self-retain the hub frees.
        var dying: UnsafeMutableRawPointer? = nil
        var switches: UInt64 = 0
        /// The record switched to last (read racily by the blocked-hub monitor).
        var running: UnsafeMutableRawPointer? = nil
        /// The hub greenlet's record.
        var hubRecord: UnsafeMutablePointer<green_record>? = nil
        /// The head of the list of live greenlets (see `track`).
        var liveHead: UnsafeMutablePointer<green_record>? = nil
        var liveCount = 0
        /// The root greenlet waits in `unwindAll` for the live list to empty.
        var unwinding = false
    }

    typealias Record = UnsafeMutablePointer<green_record>

    /// The hot state of the hub that owns `rec`.
    @inline(__always)
    static func hot(of rec: Record) -> UnsafeMutablePointer<HotState> {
        rec.pointee.hub_hot.unsafelyUnwrapped.assumingMemoryBound(to: HotState.self)
    }

    @exclusivity(unchecked)
    private var callbacks: [() -> Void] = []
    @exclusivity(unchecked)
    private var locals: [ObjectIdentifier: AnyObject] = [:]
    @exclusivity(unchecked)
    private var greenletsNumbered = 0
    let threadsafe: ThreadsafeEntry
    @exclusivity(unchecked)
    var monitor: BlockedHubMonitor?
    @exclusivity(unchecked)
    private var closed = false
    /// A number for messages ("hub #3"), unique in the process.
    public let id: Int
    private static let nextID = ManagedAtomic<Int>(0)
    /// The runtime this hub is one of, if any (set once, before the hub runs greenlets).
    @exclusivity(unchecked)
    public internal(set) unowned(unsafe) var runtime: GreenRuntime? {
        didSet { inRuntime = runtime != nil }
    }
    /// `runtime != nil`, for the hub loop: reading `runtime` costs a
    /// retain/release pair (of nil, on a hub of its own) on every pass.
    @exclusivity(unchecked)
    private var inRuntime = false
    /// This hub's index in `runtime.hubs` (set with `runtime`).
    @exclusivity(unchecked)
    var runtimeIndex = 0
    /// The other hubs of its runtime, in the order this hub looks at them for
    /// greenlets to steal (set with `runtime`; see Stealing.swift).
    @exclusivity(unchecked)
    var stealVictims = UnsafeMutableBufferPointer<StealVictim>(start: nil, count: 0)
    /// Live greenlets, published for placement (`.leastLoaded`); racy by design.
    let published = ManagedAtomic<Int>(0)
    /// Greenlets started here from other threads that an idle hub may steal
    /// (see "Idle hubs steal" in GreenRuntime.swift).
    let stealQueue = StealQueue()
    /// Greenlets this hub has stolen (`stolenGreenletCount`).
    let stolen = ManagedAtomic<Int>(0)
    /// Wakes this hub to adopt its own queued stealable greenlets.
    @exclusivity(unchecked)
    private(set) var ownerWake: StealWakeJob!
    /// Wakes this hub to look for greenlets to steal.
    @exclusivity(unchecked)
    private(set) var thiefWake: StealWakeJob!
    /// Passes of the hub loop with ready greenlets since libev was last polled.
    @exclusivity(unchecked)
    private var itersSincePoll = 0
    /// `threadsafe.jobsRun` when this hub last spun (see `spinForWork`).
    @exclusivity(unchecked)
    private var jobsRunAtLastSpin = 0
    /// Set on the hub's thread by `requestStop` (GreenRuntime).
    @exclusivity(unchecked)
    var stopRequested = false
    @exclusivity(unchecked)
    var stopPatience: Duration = .seconds(5)
    /// Whether the hub's thread has ended and its loop is destroyed.
    var isClosed: Bool { closed }

    // MARK: - The hub of this thread

    /// The hub of the calling thread, created on first use.
    public static var current: Hub {
        if let rec = green_get_current() {
            return Unmanaged<AnyGreenlet>.fromOpaque(rec.pointee.owner).takeUnretainedValue().hub
        }
        return makeForThisThread()
    }

    /// `current` at +0, for the runtime's own hot paths (a spawn): no
    /// retain/release pair. Safe while the calling thread runs: its hub is
    /// kept alive by the thread (`threadKey`) until the thread ends.
    @inline(__always)
    static var currentUnretained: Unmanaged<Hub> {
        if let rec = green_get_current() {
            return Unmanaged<AnyGreenlet>.fromOpaque(rec.pointee.owner)._withUnsafeGuaranteedRef { $0.unretainedHub }
        }
        return Unmanaged.passUnretained(makeForThisThread())
    }

    /// The hub of the calling thread if it has one already.
    static var existing: Hub? {
        guard let rec = green_get_current() else { return nil }
        return Unmanaged<AnyGreenlet>.fromOpaque(rec.pointee.owner).takeUnretainedValue().hub
    }

    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            guard let raw else { return }
            let hub = Unmanaged<Hub>.fromOpaque(raw).takeRetainedValue()
            hub.close()
        }
        return key
    }()

    private static func makeForThisThread() -> Hub {
        green_overflow_handler_install()
        _ = green_thread_altstack_install()
        let hub: Hub
        do { hub = try Hub() } catch { fatalError("Green: cannot create a hub: \(error)") }
        pthread_setspecific(threadKey, Unmanaged.passRetained(hub).toOpaque())
        return hub
    }

    private init() throws {
        guard let loop = ev_loop_new(UInt32(EVFLAG_AUTO)) else { throw GreenError.loopCreationFailed }
        self.loop = loop
        self.thread = pthread_self()
        self.pool = StackPool(cap: Green.stackPoolCapacity)
        self.hot = .allocate(capacity: 1)
        hot.initialize(to: HotState())
        self.threadsafe = ThreadsafeEntry()
        self.id = Hub.nextID.loadThenWrappingIncrement(ordering: .relaxed)
        let root = AnyGreenlet(rootOf: nil, name: "root")
        self.root = root
        root.hub = self
        root.state = .running
        root.record.pointee.hub_hot = UnsafeMutableRawPointer(hot)
        green_fiber_init_root(root.record)
        green_set_current(root.record)
        // Switches skip the exclusivity swap when it would change nothing
        // (known only with the runtime linked statically; see green_context.h).
        _ = green_access_head_init()
        let hubG = AnyGreenlet(rootOf: self, name: "hub")
        hubG.stackSize = 1024 * 1024
        hubGreenlet = hubG
        hubG.record.pointee.hub_hot = UnsafeMutableRawPointer(hot)
        hot.pointee.hubRecord = hubG.record
        try hubG.prepareStack(entry: hubEntry, data: Unmanaged.passUnretained(self).toOpaque())
        threadsafe.attach(to: self)
        ownerWake = StealWakeJob(hub: self, adoptOwn: true)
        thiefWake = StealWakeJob(hub: self, adoptOwn: false)
        if let v = getenv("GREEN_MONITOR"), String(cString: v) == "1" {
            startMonitor()
        }
    }

    /// Stops the loop and frees what the hub owns. Called when its thread exits:
    /// every greenlet still alive is killed and unwound first (`unwindAll`).
    private func close() {
        guard !closed else { return }
        // Greenlets queued for stealing become this hub's, and are unwound.
        closeStealing()
        let onRoot = green_get_current() == root.record
        if onRoot { unwindAll() }
        // Greenlets that would not end within the patience (logged).
        let stubborn = hot.pointee.liveCount
        closed = true
        monitor?.stop()
        // Refuse work from other threads from now on, and run what was
        // accepted before (runThreadsafe promised it would run), along with
        // callbacks still queued, while the loop and the records still exist.
        threadsafe.detach()
        threadsafe.drainNow()
        runCallbacks()
        // What was accepted between unwindAll's drain and the detach (a start
        // from another thread) may have made more greenlets live: they are
        // unwound too, or they would never run and never be freed.
        if onRoot && hot.pointee.liveCount > stubborn {
            unwindAll()
            runCallbacks()
        }
        ev_loop_destroy(loop)
        hubGreenlet.releaseStack()
        pool.drain()
        locals.removeAll()
        if onRoot {
            green_set_current(nil)
            // The thread is ending: its alternate signal stack goes too.
            green_thread_altstack_remove()
        }
        hot.pointee.ready.deallocate()
        hot.deinitialize(count: 1)
        hot.deallocate()
    }

    // MARK: - Running greenlets

    /// The running greenlet of this hub's thread.
    @inline(__always)
    var current: AnyGreenlet {
        Unmanaged<AnyGreenlet>.fromOpaque(green_get_current()!.pointee.owner).takeUnretainedValue()
    }

    /// The N of a "Greenlet-N" made on one thread and placed on another's hub
    /// (`GreenRuntime.withPlacement`): from a process-wide counter, since the
    /// hub's own belongs to its thread. Like the numbers of two hubs, these
    /// may repeat a hub's; a name is for logs, not an identity. Any thread.
    static func offThreadGreenletNumber() -> UInt64 {
        offThreadNumbers.wrappingIncrementThenLoad(ordering: .relaxed)
    }
    private static let offThreadNumbers = ManagedAtomic<UInt64>(0)

    /// The N of the next "Greenlet-N" (names are formatted only when read).
    /// Hub thread only.
    func nextGreenletNumber() -> UInt64 {
        greenletsNumbered += 1
        return UInt64(greenletsNumbered)
    }

    /// Puts `g` at the tail of the ready queue. `g` must not be queued already.
    @inline(__always)
    func schedule(_ g: AnyGreenlet) {
        g.state = g.hasStarted ? .ready : .scheduledStart
        hot.pointee.ready.append(UnsafeMutableRawPointer(g.record))
    }

    /// Queues a closure that the hub runs on its own greenlet. It must not block.
    func runCallback(_ body: @escaping () -> Void) {
        callbacks.append(body)
    }

    // MARK: - The switch path
    //
    // Everything below works on C records and the hot-state pointer, not on
    // Swift objects: no retain/release and no exclusivity check per switch.
    // The ready queue holds records of greenlets kept alive by their own
    // self-retain (see ReadyQueue).

    /// Pops the next greenlet that can run. Rare cases (first run, killed
    /// before start) go to `slowRunnable`.
    @inline(__always)
    static func nextRunnable(_ h: UnsafeMutablePointer<HotState>) -> Record? {
        while let raw = h.pointee.ready.popFirst() {
            let rec = raw.assumingMemoryBound(to: green_record.self)
            if rec.pointee.state == AnyGreenlet.State.ready.rawValue {
                rec.pointee.state = AnyGreenlet.State.running.rawValue
                return rec
            }
            if let r = slowRunnable(rec) { return r }
        }
        return nil
    }

    /// A queued greenlet that is not simply ready: one that never ran gets
    /// its stack; one killed before it started is dropped (and its self-retain,
    /// kept for this queue entry, released).
    @inline(never)
    static func slowRunnable(_ rec: Record) -> Record? {
        let raw = rec.pointee.owner.unsafelyUnwrapped
        switch AnyGreenlet.State(rawValue: rec.pointee.state).unsafelyUnwrapped {
        case .scheduledStart:
            // +0: the self-retain this queue entry stands for keeps it alive.
            let prepared = Unmanaged<AnyGreenlet>.fromOpaque(raw)._withUnsafeGuaranteedRef { g in
                do {
                    try g.prepareStack(entry: greenletEntry, data: raw)
                    return true
                } catch {
                    g.finishWithoutRunning(error)
                    return false
                }
            }
            if !prepared {
                releaseSelfRetain(raw)
                return nil
            }
            rec.pointee.state = AnyGreenlet.State.running.rawValue
            return rec
        case .dead:
            releaseSelfRetain(raw)
            return nil
        default:
            return nil
        }
    }

    /// Leaves the running greenlet `from` (whose state the caller has set) for
    /// the next ready greenlet, or for the hub when none is ready or the
    /// hand-off budget is spent. Returns when `from` is resumed.
    @inline(__always)
    static func switchAway(from: Record, _ h: UnsafeMutablePointer<HotState>) {
        var target = h.pointee.hubRecord.unsafelyUnwrapped
        if h.pointee.budget > 0, let next = nextRunnable(h) {
            h.pointee.budget &-= 1
            target = next
        }
        if target == from {
            from.pointee.state = AnyGreenlet.State.running.rawValue
            return
        }
        doSwitch(from, target, h)
    }

    @inline(__always)
    static func doSwitch(_ from: Record, _ to: Record, _ h: UnsafeMutablePointer<HotState>) {
        h.pointee.switches &+= 1
        h.pointee.running = UnsafeMutableRawPointer(to)
        #if DEBUG
        _ = green_switch_checked(from, to, nil)
        #else
        _ = green_switch(from, to, nil)
        #endif
    }

    /// Throws the error injected into the greenlet of `rec`.
    @inline(never)
    static func throwPending(_ rec: Record) throws {
        try Unmanaged<AnyGreenlet>.fromOpaque(rec.pointee.owner.unsafelyUnwrapped)
            ._withUnsafeGuaranteedRef { try $0.throwPendingError() }
    }

    /// Lets every other ready greenlet run once (see `yield()`).
    @inline(__always)
    static func yield(_ rec: Record) throws {
        let h = hot(of: rec)
        if rec == h.pointee.hubRecord { throw GreenError.blockingInHub }
        if rec.pointee.has_pending_error != 0 { try throwPending(rec) }
        if h.pointee.ready.isEmpty && h.pointee.budget > 1 {
            // Nothing else is ready: keep running, but count it against the
            // budget so that a spinning greenlet still lets the hub poll.
            h.pointee.budget &-= 1
            return
        }
        rec.pointee.state = AnyGreenlet.State.ready.rawValue
        h.pointee.ready.append(UnsafeMutableRawPointer(rec))
        switchAway(from: rec, h)
        if rec.pointee.has_pending_error != 0 { try throwPending(rec) }
    }

    /// The hub greenlet's loop. Never returns.
    fileprivate func hubLoop() -> Never {
        let hubRecord = hubGreenlet.record
        while true {
            reapDying()
            // Work from other threads: submitters do not wake an awake hub
            // (see ThreadsafeEntry), so it looks on every pass (one load).
            if threadsafe.hasWork { threadsafe.drainNow() }
            runCallbacks()
            if inRuntime {
                // Greenlets started here from other threads, not stolen (yet).
                if stealQueue.count.load(ordering: .relaxed) > 0 { adoptStealable() }
                published.store(hot.pointee.liveCount, ordering: .relaxed)
                if hot.pointee.ready.isEmpty && !stealWork() { spinForWork() }
            }
            if hot.pointee.ready.isEmpty {
                if threadsafe.prepareToSleep() {
                    monitor?.enterPoll()
                    itersSincePoll = 0
                    let alive = ev_run(loop, Int32(EVRUN_ONCE))
                    threadsafe.awake()
                    monitor?.leavePoll()
                    runCallbacks()
                    if alive == 0 && hot.pointee.ready.isEmpty {
                        reportBlockedForever()
                    }
                } else {
                    // Work arrived as the hub was about to sleep: run it instead.
                    threadsafe.drainNow()
                    runCallbacks()
                }
            } else if hot.pointee.budget <= 0 || itersSincePoll >= Hub.handoffBudget {
                // Greenlets kept each other busy (the hand-off budget ran out),
                // or the hub came back many times without polling: let timers
                // and I/O in. Not on every pass: a poll is a syscall, and a hub
                // that gets each cross-hub message back (a remote ping-pong)
                // would pay one per message.
                itersSincePoll = 0
                ev_run(loop, Int32(EVRUN_NOWAIT))
                runCallbacks()
            } else {
                itersSincePoll += 1
            }
            hot.pointee.budget = Hub.handoffBudget
            if let next = Hub.nextRunnable(hot) {
                Hub.doSwitch(hubRecord, next, hot)
            }
        }
    }

    /// A runtime's idle hub polls its thread-safe entry for a few microseconds
    /// before it sleeps in `epoll`, so work sent from another core (a ping-pong
    /// ball) is picked up without a wake-up syscall on either side. At most half
    /// the runtime's hubs spin at once, except a hub that has just run work from
    /// another hub: it is in a conversation and waits for the answer (so both
    /// sides of a cross-core ping-pong spin; an idle runtime does not).
    private func spinForWork() {
        guard let runtime, runtime.hubs.count > 1 else { return }
        let maxSpinners = max(1, runtime.hubs.count / 2)
        // Remote work ran since this hub last went idle: it is in a conversation.
        let conversing = threadsafe.jobsRun != jobsRunAtLastSpin
        jobsRunAtLastSpin = threadsafe.jobsRun
        if !conversing && runtime.spinners.load(ordering: .relaxed) >= maxSpinners { return }
        runtime.spinners.wrappingIncrement(ordering: .relaxed)
        defer { runtime.spinners.wrappingDecrement(ordering: .relaxed) }
        // A hub in a conversation waits longer: the answer usually comes
        // sooner than the other side could wake from epoll.
        let deadline = green_monotonic_nanos() &+ (conversing ? Hub.conversationSpinNanos : Hub.spinNanos)
        var n = 0
        while true {
            if threadsafe.hasWork {
                threadsafe.drainNow()
                runCallbacks()
                if !hot.pointee.ready.isEmpty { return }
            }
            n &+= 1
            if n & 63 == 0 {
                if stealWork() { return }
                if green_monotonic_nanos() > deadline { return }
                // On a machine with more runnable threads than cores, a spinner
                // must not hold the core the other side needs to answer.
                if n & 1023 == 0 { sched_yield() }
            }
            green_cpu_relax()
        }
    }

    /// How long an idle hub of a runtime spins before it sleeps.
    static let spinNanos: UInt64 = 50_000
    /// How long a hub that just ran work from another hub spins for more.
    static let conversationSpinNanos: UInt64 = 500_000

    private func reapDying() {
        guard let raw = hot.pointee.dying else { return }
        hot.pointee.dying = nil
        // Its self-retain keeps it alive until releaseSelfRetain: no retain here.
        Unmanaged<AnyGreenlet>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.releaseStack() }
        Hub.releaseSelfRetain(raw)
    }

    // MARK: - Live greenlets
    //
    // Every greenlet that holds its self-retain (from `start` until the hub
    // drops it) is on its hub's live list, linked through its record, so a hub
    // that ends can kill and unwind each one: their `defer`s run, their
    // sockets close, their stacks go back. Hub thread only.

    /// Puts `g` on the live list; called where it takes its self-retain.
    func track(_ g: AnyGreenlet) {
        let rec = g.record
        rec.pointee.live_prev = nil
        rec.pointee.live_next = hot.pointee.liveHead
        hot.pointee.liveHead?.pointee.live_prev = rec
        hot.pointee.liveHead = rec
        hot.pointee.liveCount += 1
    }

    /// Drops the self-retain of the greenlet at `raw` and takes it off its hub's
    /// live list (the one place a self-retain is released).
    static func releaseSelfRetain(_ raw: UnsafeMutableRawPointer) {
        let g = Unmanaged<AnyGreenlet>.fromOpaque(raw)
        let rec = g._withUnsafeGuaranteedRef { $0.record }
        let h = hot(of: rec)
        if let p = rec.pointee.live_prev { p.pointee.live_next = rec.pointee.live_next }
        else if h.pointee.liveHead == rec { h.pointee.liveHead = rec.pointee.live_next }
        rec.pointee.live_next?.pointee.live_prev = rec.pointee.live_prev
        rec.pointee.live_prev = nil
        rec.pointee.live_next = nil
        h.pointee.liveCount -= 1
        if h.pointee.unwinding && h.pointee.liveCount == 0 {
            g._withUnsafeGuaranteedRef { $0.hub.wake($0.hub.root) }
        }
        g.release()
    }

    /// Greenlets of this hub that have been started and not yet reaped.
    public var liveGreenletCount: Int { hot.pointee.liveCount }

    /// Kills every live greenlet of this hub (`GreenletExit`) and waits on the
    /// root greenlet until all have unwound, so their `defer`s run and nothing
    /// leaks. Work other threads queued for the hub runs first. A greenlet that
    /// refuses to end (catches the kill and blocks again) is killed again; after
    /// `patience` it is left, and logged.
    /// Call on the hub's thread, from its root greenlet (a thread's own code).
    /// Runs by itself when a hub's thread ends.
    /// - Note: switches.
    public func unwindAll(patience: Duration = .seconds(5)) {
        guard isCurrentThread, current === root else { return }
        ev_ref(loop)
        defer { ev_unref(loop); hot.pointee.unwinding = false }
        threadsafe.drainNow()
        runCallbacks()
        adoptStealable()
        let deadline = ContinuousClock.now + patience
        while hot.pointee.liveCount > 0 {
            var victims: [AnyGreenlet] = []
            var rec = hot.pointee.liveHead
            while let r = rec {
                victims.append(Unmanaged<AnyGreenlet>.fromOpaque(r.pointee.owner!).takeUnretainedValue())
                rec = r.pointee.live_next
            }
            for g in victims where !g.isDead { try? g.kill(GreenletExit(), block: false) }
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            hot.pointee.unwinding = true
            do { _ = try park(timeout: min(left, .milliseconds(100))) } catch {}
            hot.pointee.unwinding = false
        }
        if hot.pointee.liveCount > 0 {
            Hub.logger.error("\(self): \(hot.pointee.liveCount) greenlets would not end when their hub did; they leak")
        }
    }

    private func runCallbacks() {
        while !callbacks.isEmpty {
            let batch = callbacks
            callbacks.removeAll(keepingCapacity: true)
            for cb in batch { cb() }
        }
    }

    /// Nothing is ready and no watcher can fire: the root greenlet (the only
    /// one that can be waiting for the hub here) gets `wouldBlockForever`.
    private func reportBlockedForever() {
        if root.state == .parked {
            root.interrupt(with: GreenError.wouldBlockForever)
        } else {
            Hub.logger.error("hub has nothing to run and nothing to wait for, and the root greenlet is not waiting")
        }
    }

    /// Called on a finished greenlet's own stack: hands its stack and
    /// self-retain to the hub. Returns the records to switch between; the
    /// caller switches with no Swift reference alive in its frame.
    ///
    /// No reference counting: the greenlet is kept alive by its self-retain
    /// (which the hub drops only after this switch, in `reapDying`), and the
    /// hub's hot state and hub record by the hub, which outlives every greenlet
    /// that runs on it; so only records and the hot-state pointer are read.
    @inline(__always)
    fileprivate static func exitRecords(
        _ raw: UnsafeMutableRawPointer
    ) -> (UnsafeMutablePointer<green_record>, UnsafeMutablePointer<green_record>) {
        let rec = Unmanaged<AnyGreenlet>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.record }
        let h = hot(of: rec)
        let hubRecord = h.pointee.hubRecord.unsafelyUnwrapped
        h.pointee.dying = raw
        h.pointee.running = UnsafeMutableRawPointer(hubRecord)
        return (rec, hubRecord)
    }

    // MARK: - Blocking

    /// How a parked greenlet was woken.
    enum WakeReason: UInt8 { case none, woken, timedOut, interrupted }

    /// Parks the running greenlet until `wake(_:)` is called for it.
    ///
    /// - Parameter timeout: nil waits without limit; zero returns `false` at once.
    /// - Returns: `true` when woken, `false` when the timeout elapsed first.
    /// - Throws: an error injected by `kill`, `throw(_:)` or a started `Timeout`;
    ///   `GreenError.blockingInHub` when called from the hub;
    ///   `GreenError.wouldBlockForever` when nothing can ever wake it.
    /// - Note: switches.
    public func park(timeout: Duration? = nil) throws -> Bool {
        let rec = green_get_current().unsafelyUnwrapped
        if rec == hot.pointee.hubRecord { throw GreenError.blockingInHub }
        if rec.pointee.has_pending_error != 0 { try Hub.throwPending(rec) }
        if let t = timeout {
            if t <= .zero { return false }
            current.startTimer(after: t, mode: .timeout)
        }
        rec.pointee.state = AnyGreenlet.State.parked.rawValue
        rec.pointee.wake_reason = WakeReason.none.rawValue
        Hub.switchAway(from: rec, hot)
        if timeout == nil && rec.pointee.wake_reason == WakeReason.woken.rawValue { return true }
        return try current.afterWake()
    }

    /// Parks the running greenlet until `wake(_:)`, without a timeout: the
    /// cheapest way to block (no Swift object is touched on the way).
    /// - Throws: as `park(timeout:)`.
    /// - Note: switches.
    @inline(__always)
    public static func parkRunning() throws {
        let rec = green_get_current().unsafelyUnwrapped
        let h = hot(of: rec)
        if rec == h.pointee.hubRecord { throw GreenError.blockingInHub }
        if rec.pointee.has_pending_error != 0 { try throwPending(rec) }
        rec.pointee.state = AnyGreenlet.State.parked.rawValue
        rec.pointee.wake_reason = WakeReason.none.rawValue
        switchAway(from: rec, h)
        if rec.pointee.wake_reason != WakeReason.woken.rawValue {
            _ = try Unmanaged<AnyGreenlet>.fromOpaque(rec.pointee.owner.unsafelyUnwrapped)
                ._withUnsafeGuaranteedRef { try $0.afterWake() }
        }
    }

    /// Wakes a greenlet parked by `park(timeout:)`: it returns `true`.
    /// Does nothing when `g` is not parked (already woken, timed out or killed).
    /// - Note: never switches; `g` runs later.
    @inline(__always)
    public func wake(_ g: AnyGreenlet) {
        Hub.wakeParked(g.record, hot, first: false)
    }

    /// `wake(_:)` by record: for a caller that keeps the parked greenlet's
    /// record, not the object (`BridgeCall`). Hub thread; never switches.
    @inline(__always)
    func wake(record rec: Record) {
        Hub.wakeParked(rec, hot, first: false)
    }

    /// Moves a parked record to the ready queue of `h` (its hub's hot state),
    /// at the front when `first`; does nothing to a greenlet that is not
    /// parked. A parked greenlet has started: it goes back as plain `.ready`.
    @inline(__always)
    private static func wakeParked(_ rec: Record, _ h: UnsafeMutablePointer<HotState>, first: Bool) {
        guard rec.pointee.state == AnyGreenlet.State.parked.rawValue else { return }
        rec.pointee.wake_reason = WakeReason.woken.rawValue
        rec.pointee.state = AnyGreenlet.State.ready.rawValue
        if first {
            h.pointee.ready.pushFront(UnsafeMutableRawPointer(rec))
        } else {
            h.pointee.ready.append(UnsafeMutableRawPointer(rec))
        }
    }

    /// Wakes a parked greenlet to run *next* (ahead of the ready queue) while
    /// the hand-off budget lasts; afterwards like `wake(_:)`. Used for the
    /// sole joiner of a greenlet that ends: fork-join code then runs depth-first
    /// (see `runUnstartedNow`).
    /// Works on the record and its hub's hot state: no reference counting.
    /// Hub thread only.
    static func wakeNext(_ rec: Record) {
        guard rec.pointee.state == AnyGreenlet.State.parked.rawValue else { return }
        let h = hot(of: rec)
        let first = h.pointee.budget > 1
        if first { h.pointee.budget &-= 1 }
        wakeParked(rec, h, first: first)
    }

    /// Fork-join locality (Go's `runnext` does the same for its goroutines):
    /// the running greenlet is about to park until `target` ends, and `target`
    /// was spawned moments ago on this hub and has not started. Then nothing
    /// is gained by running the greenlets queued ahead of it first: it is taken
    /// out of the ready queue and run at once, and the caller parks (it is
    /// `target`'s joiner). Only while the hand-off budget lasts, and only when
    /// `target` is among the last 16 queued, so other greenlets and I/O still
    /// get their turn within a budget. Returns false when it did not apply;
    /// the caller then parks as usual.
    /// - Throws: as `park()`: the caller's own injected errors.
    func runUnstartedNow(_ target: AnyGreenlet) throws -> Bool {
        let rec = green_get_current().unsafelyUnwrapped
        let h = hot
        guard h.pointee.budget > 1, rec != h.pointee.hubRecord,
              rec.pointee.has_pending_error == 0,
              target.state == .scheduledStart,
              h.pointee.ready.removeNearTail(UnsafeMutableRawPointer(target.record), window: 16)
        else { return false }
        let raw = Unmanaged.passUnretained(target).toOpaque()
        do {
            try target.prepareStack(entry: greenletEntry, data: raw)
        } catch {
            // No stack: put it back where the hub will find it (and fail it there).
            h.pointee.ready.append(UnsafeMutableRawPointer(target.record))
            return false
        }
        h.pointee.budget &-= 1
        target.state = .running
        rec.pointee.state = AnyGreenlet.State.parked.rawValue
        rec.pointee.wake_reason = WakeReason.none.rawValue
        Hub.doSwitch(rec, target.record, h)
        if rec.pointee.wake_reason == WakeReason.woken.rawValue { return true }
        _ = try current.afterWake()
        return true
    }

    /// Lets every other ready greenlet run once, then returns.
    /// - Throws: an error injected into the running greenlet.
    /// - Note: switches (when anything else is ready).
    public func yield() throws {
        try Hub.yield(green_get_current().unsafelyUnwrapped)
    }

    /// Blocks the running greenlet for `duration`; zero or less yields.
    /// - Throws: an injected error (kill, Timeout); `negativeTimeout` never (a negative span yields).
    /// - Note: switches.
    public func sleep(_ duration: Duration) throws {
        if duration <= .zero { return try yield() }
        let cur = current
        if cur === hubGreenlet { throw GreenError.blockingInHub }
        try cur.throwPendingError()
        cur.startTimer(after: duration, mode: .sleep)
        cur.state = .parked
        cur.wakeReason = .none
        Hub.switchAway(from: cur.record, hot)
        _ = try cur.afterWake()
    }

    /// Readiness a greenlet can wait for on a file descriptor.
    public struct IOEvents: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// The descriptor can be read without blocking (or is at end/error).
        public static let read = IOEvents(rawValue: Int32(EV_READ))
        /// The descriptor can be written without blocking.
        public static let write = IOEvents(rawValue: Int32(EV_WRITE))
    }

    /// Parks the running greenlet until `fd` is ready for `events`.
    /// - Returns: `true` when ready, `false` when `timeout` elapsed first.
    /// - Throws: an injected error; `negativeTimeout`.
    /// - Note: switches.
    public func wait(fd: Int32, for events: IOEvents, timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        let cur = current
        if cur === hubGreenlet { throw GreenError.blockingInHub }
        try cur.throwPendingError()
        if let t = timeout {
            if t == .zero { return false }
            cur.startTimer(after: t, mode: .timeout)
        }
        cur.startIO(fd: fd, events: events.rawValue)
        cur.state = .parked
        cur.wakeReason = .none
        Hub.switchAway(from: cur.record, hot)
        cur.stopIO()
        return try cur.afterWake()
    }

    // MARK: - Per-hub state of libraries

    /// The hub's instance of `T`, made by `make` on first use and dropped with
    /// the hub: per-hub singletons for libraries on Green (GreenActors keeps its
    /// registry and link table here), with no global keyed by a hub's address.
    /// Call it from the hub's own thread. Does not switch.
    public func local<T: AnyObject>(_ type: T.Type, _ make: () -> T) -> T {
        let key = ObjectIdentifier(type)
        if let existing = locals[key] { return existing as! T }
        let made = make()
        locals[key] = made
        return made
    }

    // MARK: - Introspection (for tests and tools)

    /// Stacks this hub's pool holds for reuse.
    public var pooledStackCount: Int { pool.pooledCount }
    /// The most stacks the pool keeps.
    public var stackPoolCapacity: Int { pool.cap }
    /// Stacks mapped by this hub and not yet unmapped: pooled, in use, and the hub's own.
    public var mappedStackCount: Int { pool.mappedCount }
    /// Stacks mapped ahead in a slab and not used yet (part of `mappedStackCount`).
    public var freshStackCount: Int { pool.freshCount }
    /// Stacks returned beyond the pool's cap and not unmapped yet (part of
    /// `mappedStackCount`): they go in batches, fewer than 256 wait at a time.
    public var surplusStackCount: Int { pool.surplusCount }
    /// Greenlet switches made on this hub so far.
    public var switchCount: UInt64 { hot.pointee.switches }
    /// Greenlets in the ready queue.
    public var readyCount: Int { hot.pointee.ready.count }
}

/// The C entry of every spawned greenlet: runs its body, then leaves for the hub.
let greenletEntry: green_entry_fn = { (_: UnsafeMutableRawPointer?, data: UnsafeMutableRawPointer?) in
    green_fiber_entered()
    let raw = data!
    AnyGreenlet.runBody(raw)
    let (from, to) = Hub.exitRecords(raw)
    green_switch_final(from, to)
    fatalError("Green: a dead greenlet was resumed")
}

/// The C entry of the hub greenlet.
let hubEntry: green_entry_fn = { (_: UnsafeMutableRawPointer?, data: UnsafeMutableRawPointer?) -> Void in
    green_fiber_entered()
    let hub = Unmanaged<Hub>.fromOpaque(data!)
    hub._withUnsafeGuaranteedRef { (h: Hub) -> Void in h.hubLoop() }
}
