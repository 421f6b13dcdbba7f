import Atomics
import CGreenContext
import CLibev
import Glibc

// GreenRuntime: m hubs on m OS threads, n greenlets placed over them.
//
// The design, in the order a reader needs it:
//
// - **Hubs.** Each hub is the single-thread scheduler of Hub.swift, unchanged:
//   a libev loop, a FIFO of ready greenlets, direct hand-off between them. A
//   runtime starts `m` of them, each on a thread of its own (default: one per
//   core), or `m - 1` plus the calling thread's hub.
// - **Placement, not migration.** A greenlet that has started never changes
//   thread (its frames may hold addresses of thread-locals: errno, C
//   libraries, the parts of the Swift runtime not swapped per greenlet). So
//   where a greenlet runs is decided when it is made: `Placement.local` (the
//   caller's hub: a spawned helper shares its parent's caches, as Go's
//   `runnext` keeps a ping-pong pair on one P), `.hub(i)`, or `.leastLoaded`
//   (the hub with the fewest live greenlets, as last published by each hub,
//   plus those placed on it since).
// - **Crossing hubs.** Everything that crosses goes through the target hub's
//   thread-safe entry (a lock-free multi-producer queue plus one coalescing
//   `ev_async`): starting a placed greenlet, a cross-hub actor send, the
//   operations of coordination primitives shipped by `Hub.call` (CrossHub.swift).
//   A hub asleep in `epoll` is woken once per burst; a busy hub finds the work
//   at its next poll without a syscall (libev writes its wake-up pipe only when
//   the loop is about to sleep).
// - **Idle hubs spin briefly.** A hub of a runtime with nothing ready polls its
//   entry for a few microseconds before sleeping, so a cross-core ping-pong does
//   not pay an `epoll` wake-up per message; at most half the hubs spin at once
//   (Go's and Tokio's rule), so an idle runtime does not burn every core.
// - **Idle hubs steal** (StealQueue.swift, Stealing.swift). A hub stuck in a
//   greenlet that does not yield drains nothing, not even its thread-safe
//   entry, so work placed on it waits. The rule:
//   - *What may be stolen:* a greenlet started by `spawn` from a thread other
//     than its hub's, whose placement let the runtime choose the hub
//     (`.leastLoaded`, or `.local` from outside the runtime), that has not
//     started, and to which, at the moment the thief looks, nothing refers but
//     the queue: no handle, link, joiner or job holding it strongly, and no
//     weak or unowned reference. In practice: fire-and-forget spawns (the
//     handle was dropped). Never `.hub(i)` or `.local` from a runtime hub (the
//     caller asked for that hub), never a greenlet made under `withPlacement`
//     and started by hand (it may have been linked before it started), never
//     an actor (its mailbox belongs to its hub).
//   - *Where they wait:* the starting thread pushes such a greenlet (its
//     self-retain) onto its hub's stealable queue, a mutex-guarded FIFO,
//     instead of the thread-safe entry; it then wakes the owner (one job per
//     burst) and nudges one other hub (the next by index, unless that is the
//     caller's own). Nothing on the same-hub path changes: a start on the
//     greenlet's own hub never reaches this code.
//   - *Who takes them:* the owner adopts its whole queue at every pass of its
//     loop (a relaxed load of the queue's count when it is empty), when its
//     wake-up job runs, and before it unwinds. A hub with nothing ready (before
//     it spins, every 64 turns of its spin, and when nudged) takes up to half of
//     another hub's queue, oldest first, skipping any greenlet something else
//     refers to (those stay, in order, for their owner).
//   - *Why moving one is race-free:* a greenlet's `hub` is read without
//     synchronization by whoever holds a reference (`kill`, `join`, `link`
//     read it to know where to go). The thief moves the queue's reference into
//     a local and checks, under the queue's mutex: it is the only strong
//     reference (`isKnownUniquelyReferenced`), then no weak or unowned
//     reference exists (new ones can only be made from a strong one). Then no
//     other thread can reach the greenlet until the thief publishes it again
//     (short of a weak reference turned strong, and dropped, between the two
//     checks: see `StealQueue.mayMove`).
//     It rebinds it (`hub`, the record's `hub_hot`: nothing else binds an
//     unstarted greenlet to a hub; its stack, timer and watcher come from the
//     hub that first runs it) and tracks and queues it as its own. What earlier
//     holders wrote happens before: their releases decrement the count with
//     release ordering, and the thief's acquiring fence after the check pairs
//     with them (the edge that lets a `deinit` read what others wrote).
//   - *Memory ordering of the queue:* all of it under the mutex (a push's
//     unlock releases the greenlet's fields written before it; a taker's lock
//     acquires them). Its `count` is a relaxed hint for peeking without the
//     lock: a stale zero only delays a steal (the pusher's nudge and the
//     owner's loop pass cover it).
//   - *Stopping:* a stopping hub closes its queue (later starts take the
//     ordinary path, or fail with `hubGone`) and adopts what is queued, so
//     `stop()` runs or unwinds every greenlet ever started: none is stranded.
//     A stopping runtime's hubs no longer steal.
//   - `GreenRuntime(stealing: false)` turns it off (every greenlet runs where
//     its placement put it).
// - **Deadlock reports.** A lone hub reports `wouldBlockForever` when nothing
//   it owns can wake its root. A runtime's hub never does: another core may
//   send it work at any moment, so its loop is kept alive while it belongs to
//   the runtime. (A plain thread's hub that waits only for work from a runtime
//   can be told "would block forever" too early: make it the runtime's hub 0
//   with `includingCallingThread`, or wait through `join`/`Hub.call`, which
//   keep it alive.)
// - **Stopping.** `stop()` asks every hub thread to end: each kills and unwinds
//   its live greenlets (their `defer`s run), frees its stacks and loop, and its
//   thread exits. The caller waits cooperatively if it is on a hub itself.

/// Where a greenlet (or actor) of a runtime runs. See `GreenRuntime`.
public enum Placement: Sendable, Equatable {
    /// The caller's hub when it belongs to the runtime (locality: no cross-core
    /// traffic between a greenlet and what it spawns); else `.leastLoaded`.
    case local
    /// The runtime's hub at this index (0..<hubs.count).
    case hub(Int)
    /// The hub with the fewest live greenlets.
    case leastLoaded
}

/// m hubs on m OS threads: Green on every core.
///
/// ```swift
/// let runtime = try GreenRuntime(hubs: 2)
/// let a = runtime.spawn(on: .hub(0)) { try work(0) }
/// let b = runtime.spawn(on: .hub(1)) { try work(1) }
/// try joinAll([a, b])          // from any thread or hub
/// runtime.stop()
/// ```
///
/// Thread-safe: every member may be called from any thread or hub.
public final class GreenRuntime: @unchecked Sendable {
    /// The runtime's hubs; index them with `Placement.hub(_:)`.
    public let hubs: [Hub]
    /// A number for messages, unique in the process.
    public let id: Int
    private static let nextID = ManagedAtomic<Int>(0)

    private var threads: [pthread_t] = []
    /// Hubs whose threads have not finished yet (guarded by `lock`).
    private var running = 0
    private var lock = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private let stopping = ManagedAtomic<Bool>(false)
    /// Hubs spinning for work right now (at most half of them may).
    let spinners = ManagedAtomic<Int>(0)
    /// Round-robin start for `.leastLoaded` ties.
    private let nextPick = ManagedAtomic<Int>(0)
    /// Whether hub 0 is the thread that made the runtime (not started by it).
    public let includesCallingThread: Bool
    /// Whether idle hubs steal unstarted greenlets (see "Idle hubs steal").
    public let stealing: Bool
    /// Hubs the runtime stops when it stops: its own threads' (not the caller's).
    private var waitersOnStop: [(Hub, AnyGreenlet)] = []

    /// The number of hubs a runtime gets by default: one per online core.
    public static var defaultHubCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Starts a runtime of `hubs` hubs.
    /// - Parameters:
    ///   - hubs: how many (default: one per core).
    ///   - includingCallingThread: when true, the calling thread's hub is hub 0
    ///     and `hubs - 1` threads are started; the caller keeps running its own
    ///     hub (`stop()` leaves it alone).
    ///   - stealing: whether an idle hub may run greenlets that `spawn` placed
    ///     on a busy one (see "Idle hubs steal"); false pins every greenlet to
    ///     the hub its placement chose.
    /// - Throws: `RuntimeError.badHubCount`, `.threadStartFailed`,
    ///   `.alreadyInRuntime` (the calling thread's hub belongs to a runtime).
    /// - Note: blocks the calling OS thread briefly while the threads start
    ///   (not cooperatively: tens of microseconds a thread). Any thread.
    public init(
        hubs count: Int = GreenRuntime.defaultHubCount, includingCallingThread: Bool = false, stealing: Bool = true
    ) throws {
        guard count >= 1 && count <= 4096 else { throw RuntimeError.badHubCount(count) }
        id = GreenRuntime.nextID.loadThenWrappingIncrement(ordering: .relaxed)
        includesCallingThread = includingCallingThread
        self.stealing = stealing
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&cond, nil)
        var made: [Hub] = []
        if includingCallingThread {
            let own = Hub.current
            if own.runtime != nil { throw RuntimeError.alreadyInRuntime(hub: own.description) }
            // Other hubs may send it work at any time: while in the runtime its
            // loop stays alive (no "would block forever" from an idle moment).
            ev_ref(own.loop)
            made.append(own)
        }
        let box = StartBox()
        let toStart = count - made.count
        for _ in 0..<toStart {
            guard let t = startOSThread(stackSize: 1 << 20, detached: false, { [box] in
                GreenRuntime.hubThreadMain(box)
            }) else {
                // Stop what started, then report.
                let started = box.waitFor(threads.count)
                for h in started { _ = h.runThreadsafe { h.wake(h.root) } }
                for t in threads { pthread_join(t, nil) }
                throw RuntimeError.threadStartFailed
            }
            threads.append(t)
        }
        made += box.waitFor(toStart)
        hubs = made
        running = toStart
        for (i, h) in hubs.enumerated() {
            h.runtimeIndex = i
            if stealing { h.setStealVictims(hubs) }
            h.runtime = self
        }
        box.release(self)
    }

    deinit {
        stop()
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&lock)
    }

    /// Whether `stop()` has been called.
    public var isStopped: Bool { stopping.load(ordering: .acquiring) }

    /// Stops the runtime: each hub it started kills and unwinds its live
    /// greenlets (their `defer`s run), frees its stacks and loop, and its thread
    /// ends. Returns when all have ended. Calling it again does nothing.
    ///
    /// A greenlet that catches the kill and will not end is killed again, then
    /// left after `patience` (logged).
    /// - Note: switches when called from a greenlet (the caller's hub keeps
    ///   running meanwhile); blocks a plain thread. Must not be called from a
    ///   hub this runtime started (it would wait for itself): that stops the program.
    public func stop(patience: Duration = .seconds(5)) {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let own = Hub.existing
        if let own, own.runtime === self, !(includesCallingThread && own === hubs[0]) {
            fatalError("Green: GreenRuntime.stop() called from \(own.description), one of the hubs it stops")
        }
        let workers = includesCallingThread ? Array(hubs.dropFirst()) : hubs
        // Wait cooperatively when the caller is a greenlet: a hub thread that
        // is unwinding may still need the caller's hub to answer a call.
        if let own, own.current !== own.hubGreenlet {
            let me = own.current
            ev_ref(own.loop)
            pthread_mutex_lock(&lock)
            waitersOnStop.append((own, me))
            pthread_mutex_unlock(&lock)
            for h in workers { _ = h.runThreadsafe { [h] in h.requestStop(patience: patience) } }
            while true {
                pthread_mutex_lock(&lock)
                let left = running
                pthread_mutex_unlock(&lock)
                if left == 0 { break }
                do { _ = try own.park() } catch { /* keep waiting: the runtime must end */ }
            }
            ev_unref(own.loop)
        } else {
            for h in workers { _ = h.runThreadsafe { [h] in h.requestStop(patience: patience) } }
        }
        for t in threads { pthread_join(t, nil) }
        threads = []
        if includesCallingThread {
            // Hub 0 lives on: what was queued on it for stealing becomes its
            // own (now, or at its next loop pass when stop() runs elsewhere).
            let h0 = hubs[0]
            if h0.isCurrentThread { h0.closeStealing() } else { _ = h0.runThreadsafe { h0.closeStealing() } }
            hubs[0].runtime = nil
            ev_unref(hubs[0].loop)
        }
    }

    /// A hub thread has finished: wake a greenlet waiting in `stop()`.
    private func hubThreadEnded() {
        pthread_mutex_lock(&lock)
        running -= 1
        let waiters = running == 0 ? waitersOnStop : []
        pthread_mutex_unlock(&lock)
        for (hub, g) in waiters { _ = hub.runThreadsafe { hub.wake(g) } }
    }

    // MARK: - Placement

    /// The hub `placement` names.
    /// - Note: `.hub(i)` out of range stops the program with a message. Any thread.
    public func hub(for placement: Placement) -> Hub {
        pick(placement).hub
    }

    /// The hub `placement` names, and whether the runtime chose it (`.leastLoaded`,
    /// or `.local` from outside the runtime): then any hub may run the greenlet.
    private func pick(_ placement: Placement) -> (hub: Hub, chosen: Bool) {
        switch placement {
        case .local:
            if let own = Hub.existing, own.runtime === self { return (own, false) }
            return (leastLoaded(), true)
        case .hub(let i):
            precondition(hubs.indices.contains(i), "Green: Placement.hub(\(i)) but the runtime has \(hubs.count) hubs")
            return (hubs[i], false)
        case .leastLoaded:
            return (leastLoaded(), true)
        }
    }

    private func leastLoaded() -> Hub {
        let start = nextPick.loadThenWrappingIncrement(ordering: .relaxed)
        var best = hubs[start % hubs.count]
        var bestLoad = best.published.load(ordering: .relaxed)
        for k in 1..<max(1, hubs.count) {
            let h = hubs[(start + k) % hubs.count]
            let load = h.published.load(ordering: .relaxed)
            if load < bestLoad { best = h; bestLoad = load }
        }
        best.published.wrappingIncrement(ordering: .relaxed)
        return best
    }

    /// Runs `make` so that every greenlet or actor it constructs belongs to the
    /// hub `placement` names (constructors run on the calling thread; they must
    /// not block or touch hub-local state). Start them with `start()` as usual:
    /// from another thread, the start travels to their hub.
    /// - Note: does not switch. Any thread.
    public func withPlacement<T>(_ placement: Placement, _ make: () throws -> T) rethrows -> T {
        try constructing(on: hub(for: placement), make)
    }

    /// Runs `make` so that the greenlets it constructs belong to `target`.
    private func constructing<T>(on target: Hub, _ make: () throws -> T) rethrows -> T {
        let saved = green_get_placement_hub()
        green_set_placement_hub(Unmanaged.passUnretained(target).toOpaque())
        defer { green_set_placement_hub(saved) }
        return try make()
    }

    /// Starts a greenlet running `body` on the hub `placement` names.
    ///
    /// When the runtime chose the hub (`.leastLoaded`, or `.local` from a thread
    /// outside the runtime) and the caller is not on that hub, the greenlet may
    /// instead be run by an idle hub, if nothing but the runtime refers to it
    /// by then (the handle returned here was dropped): see "Idle hubs steal"
    /// at the top of GreenRuntime.swift. Keep the handle (or use `.hub(i)`) to
    /// be sure where it runs.
    /// - Throws: `GreenError.hubGone` when that hub has ended.
    /// - Note: does not switch. Any thread.
    @discardableResult
    public func spawn<T>(
        on placement: Placement = .local, name: String? = nil, stackSize: Int? = nil,
        _ body: @escaping () throws -> T
    ) throws -> Greenlet<T> {
        let (target, chosen) = pick(placement)
        let g = constructing(on: target) { Greenlet(name: name, stackSize: stackSize, body) }
        try g.start(stealableIn: chosen && stealing ? self : nil)
        return g
    }

    /// Constructs a greenlet or actor with `make` on the hub `placement` names and starts it.
    /// - Throws: what `make` throws; `GreenError.alreadyStarted`, `.hubGone`.
    /// - Note: does not switch. Any thread.
    @discardableResult
    public func start<G: AnyGreenlet>(on placement: Placement = .local, _ make: () throws -> G) throws -> G {
        let g = try withPlacement(placement, make)
        try g.start()
        return g
    }

    // MARK: - Hub threads

    /// Hands the hubs the new threads made back to `init`.
    private final class StartBox: @unchecked Sendable {
        private var lock = pthread_mutex_t()
        private var cond = pthread_cond_t()
        private var hubs: [Hub] = []
        private var runtime: GreenRuntime?
        private var released = false

        init() { pthread_mutex_init(&lock, nil); pthread_cond_init(&cond, nil) }
        deinit { pthread_cond_destroy(&cond); pthread_mutex_destroy(&lock) }

        func add(_ hub: Hub) {
            pthread_mutex_lock(&lock); hubs.append(hub); pthread_cond_broadcast(&cond); pthread_mutex_unlock(&lock)
        }
        func waitFor(_ n: Int) -> [Hub] {
            pthread_mutex_lock(&lock)
            while hubs.count < n { pthread_cond_wait(&cond, &lock) }
            let out = hubs
            pthread_mutex_unlock(&lock)
            return out
        }
        func release(_ runtime: GreenRuntime) {
            pthread_mutex_lock(&lock)
            self.runtime = runtime
            released = true
            pthread_cond_broadcast(&cond)
            pthread_mutex_unlock(&lock)
        }
        /// The runtime, once `init` has set every hub's `runtime` (nil if it failed).
        func awaitRuntime() -> GreenRuntime? {
            pthread_mutex_lock(&lock)
            while !released { pthread_cond_wait(&cond, &lock) }
            let r = runtime
            pthread_mutex_unlock(&lock)
            return r
        }
    }

    private static func hubThreadMain(_ box: StartBox) {
        let hub = Hub.current
        box.add(hub)
        let runtime = box.awaitRuntime()
        hub.serveUntilStopped()
        hub.closeStealing()
        hub.unwindAll(patience: hub.stopPatience)
        runtime?.hubThreadEnded()
        // The thread ends here; its hub's close() frees the loop and stacks.
    }
}

/// Why a runtime could not start or a placement failed.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    /// A runtime needs between 1 and 4096 hubs.
    case badHubCount(Int)
    /// The system refused a thread.
    case threadStartFailed
    /// The calling thread's hub already belongs to a runtime.
    case alreadyInRuntime(hub: String)

    public var description: String {
        switch self {
        case .badHubCount(let n): return "a runtime needs 1 to 4096 hubs, not \(n)"
        case .threadStartFailed: return "the system refused a thread for a hub"
        case .alreadyInRuntime(let h): return "\(h) already belongs to a runtime"
        }
    }
}

extension Hub {
    /// A runtime's hub thread: the root greenlet waits here, keeping the loop
    /// alive, until `requestStop` wakes it.
    func serveUntilStopped() {
        ev_ref(loop)
        defer { ev_unref(loop) }
        while !stopRequested {
            do { _ = try park() } catch {}
        }
    }

    /// Hub thread: ends `serveUntilStopped`.
    func requestStop(patience: Duration) {
        stopRequested = true
        stopPatience = patience
        wake(root)
    }
}
