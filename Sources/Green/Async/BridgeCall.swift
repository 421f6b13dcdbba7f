import CLibev

/// One `awaitAsync` in flight, without its value type: the greenlet waiting,
/// the worker Task running the body, and how the wait ended. `AsyncCall<T>`
/// adds the body and the value; everything here is non-generic so that no
/// generic metadata is looked up per call.
///
/// Threads: `invoke` runs in the worker Task (on the hub's thread for the
/// hub's lane, on Swift's pool for others). Every other property is read and
/// written on the hub's thread only: by the waiting greenlet, and by `deliver`,
/// which runs on the hub (directly when the worker ends the body on the hub's
/// thread, else as a `ThreadsafeJob`, whose queue orders the worker's writes of
/// the outcome before the hub's reads).
///
/// Loop reference: while the greenlet is parked the call holds one reference
/// on the hub's libev loop (`ev_ref`), so a hub whose only work is this call
/// does not report `wouldBlockForever`; it is released exactly once, by
/// `deliver` or by `abandon`.
@usableFromInline
class BridgeCall: ThreadsafeJob, @unchecked Sendable {
    /// Runs the body and stores its value (set by `AsyncCall<T>`, specialized
    /// in the caller's module, so it captures nothing).
    let invoke: @Sendable (BridgeCall) async throws -> Void
    /// What the body threw.
    var error: (any Error)?
    /// The lane whose worker runs the call.
    var lane: BridgeLane!
    /// The worker running the call (to cancel it), and, once the body is done,
    /// the continuation it waits on for its next call.
    var worker: BridgeWorker?
    var nextCall: UnsafeContinuation<BridgeCall?, Never>?
    private var waiter: AnyGreenlet?
    /// The outcome is in (`error`, or the value of the subclass).
    private(set) var finished = false
    /// The waiter gave up; whatever the body returns is dropped.
    private var abandoned = false
    /// The call holds a reference on the hub's loop (see above).
    private var loopRef = false

    @usableFromInline
    init(invoke: @escaping @Sendable (BridgeCall) async throws -> Void) {
        self.invoke = invoke
    }

    /// Hands the call to a worker and parks the calling greenlet until the
    /// body's outcome is in; on return the subclass holds the value.
    /// - Throws: what the body threw; `AsyncBridgeError.calledInsideTask`, `GreenError.blockingInHub`,
    ///   `GreenError.negativeTimeout`, `Timeout`, an error injected into the
    ///   caller (kill, a started `Timeout`).
    /// - Note: switches (unless the body ends before its first suspension).
    @usableFromInline
    final func perform(timeout: Duration?, executorPreference: (any TaskExecutor)?) throws {
        if isInsideSwiftTask { throw AsyncBridgeError.calledInsideTask }
        let timeout = try validated(timeout)
        let hub = Hub.current
        let me = hub.current
        if me === hub.hubGreenlet { throw GreenError.blockingInHub }
        try me.throwPendingError()
        let lane = BridgeLanes.of(hub).lane(for: executorPreference)
        self.lane = lane
        waiter = me
        lane.start(self)
        if !finished {
            ev_ref(hub.loop)
            loopRef = true
            try wait(hub: hub, timeout: timeout)
        }
        if let error { throw error }
    }

    /// Parks the calling greenlet until `deliver`.
    private func wait(hub: Hub, timeout: Duration?) throws {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while !finished {
            var left: Duration? = nil
            if let deadline {
                left = deadline - ContinuousClock.now
                if left! <= .zero {
                    abandon(hub)
                    throw Timeout(timeout!)
                }
            }
            let woken: Bool
            do { woken = try hub.park(timeout: left) } catch {
                if finished {
                    // The outcome arrived first: keep it, throw the error at
                    // the next blocking call.
                    hub.current.pendingError = error
                    break
                }
                abandon(hub)
                throw error
            }
            if !woken && !finished {
                abandon(hub)
                throw Timeout(timeout!)
            }
        }
    }

    /// Hub thread: the waiting greenlet gives up. The worker is cancelled and
    /// will not be reused; the outcome will be dropped.
    private func abandon(_ hub: Hub) {
        guard !abandoned, !finished else { return }
        abandoned = true
        waiter = nil
        if loopRef { loopRef = false; ev_unref(hub.loop) }
        worker?.task?.cancel()
    }

    /// Hub thread: the body is done. Wakes the waiter unless it left, and
    /// gives the worker back to its lane (or ends it).
    final func deliver() {
        let lane = self.lane!
        let worker = self.worker
        let next = self.nextCall
        self.worker = nil
        self.nextCall = nil
        if !abandoned {
            finished = true
            if loopRef { loopRef = false; ev_unref(lane.hub.loop) }
            if let w = waiter {
                waiter = nil
                lane.hub.wake(w)
            }
        }
        if let next { lane.takeBack(worker!, next, reusable: !abandoned) }
    }

    /// Another thread: the worker finished the body there.
    override final func run() { deliver() }
}
