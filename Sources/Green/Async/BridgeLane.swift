import Glibc

/// Worker Tasks that run the bodies of `awaitAsync`, kept between calls.
///
/// Why: creating a Swift Task per call costs more than the rest of a call
/// together (allocation, status records, the executor-preference record). A
/// worker is a long-lived Task that runs one body at a time inline (`await
/// call.invoke(call)`, no child Task) and then waits on a continuation for the
/// next call.
///
/// The rules:
/// - A lane belongs to one hub and one executor preference: the hub's own
///   executor (the default), or another `TaskExecutor` such as Swift's global
///   pool. Its idle list is touched on the hub's thread only.
/// - A call takes an idle worker and resumes its continuation with the call,
///   or starts a new worker when none is idle.
/// - When the body is done, the worker waits on a fresh continuation and hands
///   it, with the outcome, to the hub (`BridgeCall.deliver`), which wakes the
///   caller and puts the worker back on the idle list (at most `idleCap`
///   idle; one more is ended). It waits inside the call's `invoke`, and runs
///   the next call there too when its value has the same type (one task
///   switch a call fewer; see `awaitAsync`).
/// - A worker whose call was abandoned (timeout, kill) has been cancelled: it
///   finishes the body, its outcome is dropped, and it ends (Swift's
///   cancellation cannot be undone, so it is never reused).
/// - When the hub ends, its lanes end their idle workers.
///
/// Inline runs (the hub's lane only): the greenlet that resumes a worker runs
/// the worker's job itself, at once, instead of parking so the hub greenlet
/// can run it (`HubExecutor.runInline`). A body that ends before its first
/// suspension then costs no greenlet switch and no trip through the hub's
/// callbacks; one that suspends returns the thread to the caller, which parks.
final class BridgeLane: @unchecked Sendable {
    /// The most idle workers a lane keeps.
    static let idleCap = 32

    let hub: Hub
    /// Where workers run.
    let executor: any TaskExecutor
    /// The workers' executor when they run on this hub (inline runs).
    /// Unmanaged: `executor` holds it (it is the same object); used at +0.
    private let hubExecutor: Unmanaged<HubTaskExecutor>?
    /// The hub's own lane: its workers run on the hub's thread only.
    var isHubLane: Bool { hubExecutor != nil }
    private let idleCap: Int
    @exclusivity(unchecked)
    private var idle: [BridgeWorker] = []

    /// The hub's loop and the hub at +0 (the lane holds the hub), for
    /// `BridgeCall.deliver`.
    let loop: OpaquePointer
    var hubUnretained: Unmanaged<Hub> { Unmanaged.passUnretained(hub) }

    init(hub: Hub, executor: any TaskExecutor, hubExecutor: HubTaskExecutor?, idleCap: Int = BridgeLane.idleCap) {
        self.hub = hub
        self.loop = hub.loop
        self.executor = executor
        self.hubExecutor = hubExecutor.map { Unmanaged.passUnretained($0) }
        self.idleCap = idleCap
        idle.reserveCapacity(idleCap)
    }

    /// Hub thread: gives `call` to a worker. For the hub's lane the worker's
    /// first step runs here, on the calling greenlet.
    func start(_ call: BridgeCall) {
        if let w = idle.popLast() {
            let k = w.continuation.take().unsafelyUnwrapped
            call.worker = w
            call.handedOver()
            if let ex = hubExecutor {
                ex._withUnsafeGuaranteedRef { $0.runInline { k.resume(returning: call) } }
            } else {
                k.resume(returning: call)
            }
        } else {
            let w = BridgeWorker()
            call.worker = w
            call.handedOver()
            if let ex = hubExecutor {
                ex._withUnsafeGuaranteedRef { $0.runInline { w.start(call, on: executor) } }
            } else {
                w.start(call, on: executor)
            }
        }
    }

    /// Worker: the body of `call` is done and the worker waits on
    /// `call.nextCall`. Brings both to the hub.
    func finish(_ call: BridgeCall) {
        if hub.isOnHubThread {
            call.deliver()
        } else if !hub.submit(call) {
            // The hub has ended: nobody waits; the worker ends.
            call.nextCall?.resume(returning: nil)
        }
    }

    /// Hub thread: the worker `w` waits on `k` for another call.
    func takeBack(_ w: consuming BridgeWorker, _ k: UnsafeContinuation<BridgeCall?, Never>, reusable: Bool) {
        if reusable && idle.count < idleCap {
            w.continuation = k
            idle.append(w)
        } else {
            k.resume(returning: nil)
        }
    }

    /// The hub ended (its locals are dropped on its thread): idle workers end.
    deinit {
        for w in idle {
            guard let k = w.continuation else { continue }
            w.continuation = nil
            if let ex = hubExecutor {
                ex._withUnsafeGuaranteedRef { $0.runInline { k.resume(returning: nil) } }
            } else {
                k.resume(returning: nil)
            }
        }
    }
}

/// A long-lived Task that runs the bodies of `awaitAsync` calls one after
/// another (see `BridgeLane`).
final class BridgeWorker: @unchecked Sendable {
    /// Hub thread: to cancel the worker when its caller abandons the call.
    var task: Task<Void, Never>?
    /// Hub thread: while idle, where the next call goes.
    var continuation: UnsafeContinuation<BridgeCall?, Never>?

    /// Hub thread: starts the Task with its first call.
    func start(_ first: BridgeCall, on executor: any TaskExecutor) {
        task = Task(executorPreference: executor) { await BridgeWorker.serve(first) }
    }

    /// The worker's loop: runs `first`, then each call it is given, until it
    /// is given nil. `nonisolated(nonsending)`, as are the calls' bodies, so
    /// going into a body and out of it is a plain call: no executor switch,
    /// which for a Task with an executor preference means no lookup of that
    /// preference under the task's status lock. A call's `invoke` runs the
    /// body, waits for the next call itself and runs it too when it is of
    /// the same type (see `awaitAsync`); it returns the next call of another
    /// type, or nil.
    nonisolated(nonsending)
    private static func serve(_ first: BridgeCall) async {
        var call: BridgeCall? = first
        while let c = call {
            c.received()
            call = await c.invoke(c)
        }
    }
}

/// The bridge lanes of one hub (a hub-local).
final class BridgeLanes {
    /// The lane of the hub's own executor.
    let hubLane: BridgeLane
    /// Lanes of other executors (Swift's global pool, another hub's), by executor.
    private var others: [(id: ObjectIdentifier, lane: BridgeLane)] = []
    /// The most other executors that get a lane of their own; calls to more
    /// use a worker each.
    static let otherCap = 8

    /// The hub's public executor: a preference for it means the hub's lane.
    private let hubExecutorID: ObjectIdentifier

    /// A finished call kept for the next `awaitAsync` (`BridgeCall.recycle`),
    /// held +1 (released with the lanes). Hub thread only.
    @exclusivity(unchecked)
    var spare: Unmanaged<BridgeCall>?

    /// Takes the spare call out, with its reference (no retain/release).
    @inline(__always)
    func takeSpare() -> BridgeCall? {
        guard let s = spare else { return nil }
        spare = nil
        return s.takeRetainedValue()
    }

    /// The thread's lanes at +0 (see `ofThisThread`): for the hub's thread,
    /// which borrows them only while its hub runs it.
    @inline(__always)
    static var ofThisThreadUnretained: Unmanaged<BridgeLanes>? {
        guard let raw = pthread_getspecific(slot) else { return nil }
        return Unmanaged<BridgeLanes>.fromOpaque(raw)
    }

    /// The lanes of this thread's hub if it has made them (nil otherwise):
    /// the thread-specific slot, which is cleared when the lanes go.
    @inline(__always)
    static var ofThisThread: BridgeLanes? {
        guard let raw = pthread_getspecific(slot) else { return nil }
        return Unmanaged<BridgeLanes>.fromOpaque(raw).takeUnretainedValue()
    }

    init(hub: Hub) {
        let ex = HubTaskExecutor(hub: hub)
        hubLane = BridgeLane(hub: hub, executor: ex, hubExecutor: ex)
        hubExecutorID = ObjectIdentifier(hub.executor)
    }

    /// The lanes of `hub` (hub thread): from a thread-specific slot (a hub
    /// belongs to one thread and a thread has one hub at a time), else from
    /// the hub's locals, which own them.
    @inline(__always)
    static func of(_ hub: Hub) -> BridgeLanes {
        if let lanes = ofThisThread, lanes.hubLane.hub === hub { return lanes }
        return ofSlow(hub)
    }

    /// `of(hub)` at +0: the lanes live as long as the hub (its locals own
    /// them), and the caller borrows them on the hub's thread only.
    @inline(__always)
    static func unretained(of hub: Hub) -> Unmanaged<BridgeLanes> {
        if let raw = pthread_getspecific(slot) {
            let lanes = Unmanaged<BridgeLanes>.fromOpaque(raw)
            if lanes._withUnsafeGuaranteedRef({ $0.hubLane.hub === hub }) { return lanes }
        }
        return Unmanaged.passUnretained(ofSlow(hub))
    }

    @inline(never)
    private static func ofSlow(_ hub: Hub) -> BridgeLanes {
        let lanes = hub.local(BridgeLanes.self) { BridgeLanes(hub: hub) }
        pthread_setspecific(slot, Unmanaged.passUnretained(lanes).toOpaque())
        return lanes
    }

    /// The thread's lanes, unretained; cleared when they go (with their hub,
    /// on its thread), so it never points at freed lanes.
    private static let slot: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    deinit {
        spare?.release()
        if let raw = pthread_getspecific(BridgeLanes.slot), raw == Unmanaged.passUnretained(self).toOpaque() {
            pthread_setspecific(BridgeLanes.slot, nil)
        }
    }

    /// The lane for an executor preference (nil: the hub's own executor).
    @inline(__always)
    func lane(for preference: (any TaskExecutor)?) -> BridgeLane {
        guard let preference else { return hubLane }
        return otherLane(preference)
    }

    private func otherLane(_ preference: any TaskExecutor) -> BridgeLane {
        let id = ObjectIdentifier(preference)
        if id == hubExecutorID || id == ObjectIdentifier(hubLane.executor) { return hubLane }
        for entry in others where entry.id == id { return entry.lane }
        if others.count >= BridgeLanes.otherCap {
            return BridgeLane(hub: hubLane.hub, executor: preference, hubExecutor: nil, idleCap: 0)
        }
        let lane = BridgeLane(hub: hubLane.hub, executor: preference, hubExecutor: nil)
        others.append((id, lane))
        return lane
    }
}
