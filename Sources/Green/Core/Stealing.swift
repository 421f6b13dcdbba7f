import Atomics
import CGreenContext

// Stealing unstarted greenlets: the rule is written at the top of
// GreenRuntime.swift ("Idle hubs steal"); the queue and the "only reference"
// check are in StealQueue.swift. This file has the two sides of it on a hub:
// the owner adopting its own queued greenlets, and a thief taking others'.

/// Sent to a hub when its stealable queue gets work (owner) or may have work
/// to steal (thief). One per hub and role, reused: `pending` lets only the
/// first of a burst of pushes submit it (an atomic exchange, on the
/// cross-thread start path only).
final class StealWakeJob: ThreadsafeJob, @unchecked Sendable {
    unowned(unsafe) let hub: Hub
    let adoptOwn: Bool
    let pending = ManagedAtomic<Bool>(false)

    init(hub: Hub, adoptOwn: Bool) {
        self.hub = hub
        self.adoptOwn = adoptOwn
    }

    /// Any thread: makes sure the job will run on its hub soon.
    func send() {
        if pending.load(ordering: .relaxed) { return }
        if !pending.exchange(true, ordering: .acquiringAndReleasing) {
            if !hub.submit(self) { pending.store(false, ordering: .relaxed) }
        }
    }

    override func run() {
        // Cleared first: a push after this point sends the job again.
        pending.store(false, ordering: .releasing)
        if adoptOwn { hub.adoptStealable() } else { _ = hub.stealWork() }
    }
}

/// Another hub of the runtime, as a thief sees it: no reference counting on
/// the idle path (a relaxed load of its queue's count per victim). The thief's
/// list holds each victim strongly (so its queue and count outlive every look
/// at them, whenever the runtime itself goes) until the thief's own thread
/// drops the list as it stops (`closeStealing`).
struct StealVictim {
    let hub: Unmanaged<Hub>
    let count: UnsafeAtomic<Int>
}

extension Hub {
    /// Runtime setup (before the hubs run greenlets of the runtime): the other
    /// hubs, from the next by index around.
    func setStealVictims(_ hubs: [Hub]) {
        let others = hubs.count - 1
        let buf = UnsafeMutableBufferPointer<StealVictim>.allocate(capacity: others)
        for k in 0..<others {
            let h = hubs[(runtimeIndex + 1 + k) % hubs.count]
            buf.initializeElement(at: k, to: StealVictim(hub: Unmanaged.passRetained(h), count: h.stealQueue.count))
        }
        stealVictims = buf
    }

    /// Hub thread, as it stops: lets go of the victims.
    func dropStealVictims() {
        let buf = stealVictims
        stealVictims = UnsafeMutableBufferPointer(start: nil, count: 0)
        for v in buf { v.hub.release() }
        buf.deallocate()
    }

    /// Greenlets this hub has taken from other hubs' stealable queues so far. Any thread.
    public var stolenGreenletCount: Int { stolen.load(ordering: .relaxed) }

    /// Hub thread: moves its own queued stealable greenlets to its live list
    /// and ready queue (they become ordinary greenlets of this hub). Called at
    /// every pass of a runtime hub's loop while the queue is not empty, from
    /// the owner's wake-up job, and before the hub unwinds.
    func adoptStealable() {
        guard stealQueue.count.load(ordering: .relaxed) > 0 else { return }
        for u in stealQueue.takeAll() { adoptQueued(u) }
    }

    /// Hub thread, as it stops: no greenlet is queued for stealing any more
    /// (later starts travel through the thread-safe entry, or fail with
    /// `hubGone`); those queued are adopted, so the unwinding kills them.
    func closeStealing() {
        for u in stealQueue.close() { adoptQueued(u) }
        dropStealVictims()
    }

    /// Hub thread: `u` (holding its self-retain) was started from another
    /// thread onto this hub: track it and queue its start, as `start()` would.
    private func adoptQueued(_ u: Unmanaged<AnyGreenlet>) {
        let g = u.takeUnretainedValue()
        track(g)
        // `.scheduledStart` unless killed meanwhile (`.dead`): the ready queue
        // drops a dead one and its self-retain (`slowRunnable`).
        hot.pointee.ready.append(UnsafeMutableRawPointer(g.record))
    }

    /// A runtime hub with nothing ready: takes up to half of another hub's
    /// stealable greenlets, looking at the hubs after this one in index order,
    /// and queues them here. Returns whether it took any. Hub thread; cheap
    /// when there is nothing to steal (a relaxed load per hub).
    @discardableResult
    func stealWork() -> Bool {
        for v in stealVictims where v.count.load(ordering: .relaxed) > 0 {
            guard let runtime, !stopRequested, !runtime.isStopped else { return false }
            let taken = v.hub._withUnsafeGuaranteedRef { $0.stealQueue.steal() }
            if taken.isEmpty { continue }
            for g in taken { adoptStolen(g) }
            stolen.wrappingIncrement(by: taken.count, ordering: .relaxed)
            return true
        }
        return false
    }

    /// Hub thread: `g` came out of another hub's queue, and the caller holds the
    /// only reference to it (`StealQueue.mayMove`): rebinds it to this hub —
    /// its `hub`, the record's `hub_hot` (what `isCurrentThread` and the
    /// switch path read). Nothing else binds an unstarted greenlet to a hub:
    /// its stack comes from the pool of the hub that first runs it, its timer
    /// and watcher are made when it first waits, and it joins a live list
    /// only here. Then it is tracked and queued as its own hub would have done.
    private func adoptStolen(_ g: AnyGreenlet) {
        g.hub = self
        g.record.pointee.hub_hot = UnsafeMutableRawPointer(hot)
        adoptQueued(Unmanaged.passRetained(g)) // the self-retain again
    }

    /// Any thread: tells a hub of the runtime other than `home` (and other than
    /// the caller's own, which looks by itself when it goes idle) that `home`
    /// has greenlets it may steal.
    static func nudgeThief(for home: Hub, in runtime: GreenRuntime) {
        let hubs = runtime.hubs
        guard hubs.count > 1 else { return }
        let thief = hubs[(home.runtimeIndex + 1) % hubs.count]
        if thief.isCurrentThread { return }
        thief.thiefWake.send()
    }
}
