import CGreenContext
import CLibev
import Synchronization

/// One `awaitAsync` in flight: the greenlet waiting, the worker Task running
/// the body, the body's outcome, and how the wait ended.
///
/// Not generic: the generic parts are two closures that `awaitAsync`, inlined
/// and specialized in the caller's module, hands over, and the value is kept
/// in raw storage (inline when it fits in four words, else in an allocation).
/// A generic class would look up its metadata, and that of `Optional<T>` in
/// its deinit, on every call.
///
/// Threads: `invoke` runs in the worker Task (on the hub's thread for the
/// hub's lane, on Swift's pool for others) and writes the value or `error`.
/// Every other property is read and written on the hub's thread only: by the
/// waiting greenlet, and by `deliver`, which runs on the hub (directly when
/// the worker ends the body on the hub's thread, else as a `ThreadsafeJob`,
/// whose queue orders the worker's writes before the hub's reads).
///
/// Its stored properties are `@exclusivity(unchecked)`: no two accesses
/// overlap (each side touches the call only while the other waits), and a
/// dynamic check costs about 60 instructions an access.
///
/// The hand-off to the worker is ordered by `handOff` (see there), not by
/// Swift's runtime alone: resuming an idle worker's continuation before that
/// worker has finished suspending lets it go on at once on its own thread,
/// with no job enqueued, and that path is ordered by the runtime's own
/// atomics, which ThreadSanitizer does not see.
///
/// Loop reference: while the greenlet is parked the call holds one reference
/// on the hub's libev loop (`ev_ref`), so a hub whose only work is this call
/// does not report `wouldBlockForever`; it is released exactly once, by
/// `deliver` or by `abandon`.
@usableFromInline
final class BridgeCall: ThreadsafeJob, @unchecked Sendable {
    /// Runs the body, stores its outcome (`storeValue`, `error`), hands it
    /// to the hub (`finish(waitingOn:)`) and runs the worker's next calls
    /// while their values are of the same type (`valueType`); returns the
    /// first call of another type, or nil when the worker is to end.
    /// (Set anew when a recycled call is reused: see `obtain`.)
    @exclusivity(unchecked)
    private(set) var invoke: nonisolated(nonsending) @Sendable (BridgeCall) async -> BridgeCall?
    /// The type of the value (`T` of `awaitAsync`): calls with the same one
    /// can run in each other's `invoke`.
    @usableFromInline @exclusivity(unchecked)
    private(set) var valueType: ObjectIdentifier
    /// Destroys a value stored and never taken (a late one).
    @exclusivity(unchecked)
    private var dropValue: (UnsafeMutableRawPointer) -> Void
    /// The value: inline when it fits, else at `valueBox`.
    @usableFromInline @exclusivity(unchecked)
    var valueWords: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline @exclusivity(unchecked)
    var valueBox: UnsafeMutableRawPointer?
    @usableFromInline @exclusivity(unchecked)
    var hasValue = false
    /// The storage holds the body (before the worker takes it), not a value.
    @usableFromInline @exclusivity(unchecked)
    var holdsBody = false
    /// What the body threw.
    @usableFromInline @exclusivity(unchecked)
    var error: (any Error)?
    /// The lane whose worker runs the call.
    @exclusivity(unchecked)
    var lane: BridgeLane!
    /// `lane` is the hub's own: its worker runs on the hub's thread only.
    @usableFromInline @exclusivity(unchecked)
    var onHubLane = false
    /// The worker running the call (to cancel it), and, once the body is done,
    /// the continuation it waits on for its next call.
    @exclusivity(unchecked)
    var worker: BridgeWorker?
    @exclusivity(unchecked)
    var nextCall: UnsafeContinuation<BridgeCall?, Never>?
    /// The parked caller's record (see `perform(on:)` for its lifetime).
    @exclusivity(unchecked)
    private var waiter: Hub.Record?
    /// The outcome is in (`error`, or the value).
    @exclusivity(unchecked)
    private(set) var finished = false
    /// The waiter gave up; whatever the body returns is dropped.
    @exclusivity(unchecked)
    private var abandoned = false
    /// The call holds a reference on the hub's loop (see above).
    @exclusivity(unchecked)
    private var loopRef = false
    /// Orders everything the hub's thread wrote into the call (the body, the
    /// lane, the worker) before the worker reads it: `BridgeLane.start`
    /// stores with release ordering before it resumes or starts the worker,
    /// and the worker loads with acquire ordering before it runs the call
    /// (`received`). On x86-64 both are plain moves; they are there for the
    /// memory model and so ThreadSanitizer sees the edge.
    private let handOff = Atomic<Bool>(false)

    @usableFromInline
    init(invoke: nonisolated(nonsending) @escaping @Sendable (BridgeCall) async -> BridgeCall?,
         valueType: ObjectIdentifier,
         dropValue: @escaping (UnsafeMutableRawPointer) -> Void) {
        self.invoke = invoke
        self.valueType = valueType
        self.dropValue = dropValue
    }

    /// Hub thread, last thing before the worker may run the call.
    func handedOver() {
        handOff.store(true, ordering: .releasing)
    }

    /// Worker, first thing: pairs with `handedOver`.
    @usableFromInline
    func received() {
        _ = handOff.load(ordering: .acquiring)
    }

    /// A call for `awaitAsync` on this thread's hub: the one its last call
    /// left behind (`recycle`), else a new one. Saves an allocation, an
    /// initialization and a deinit per call (about 500 instructions).
    @usableFromInline
    static func obtain(
        invoke: nonisolated(nonsending) @escaping @Sendable (BridgeCall) async -> BridgeCall?,
        valueType: ObjectIdentifier,
        dropValue: @escaping (UnsafeMutableRawPointer) -> Void
    ) -> BridgeCall {
        if let lanes = BridgeLanes.ofThisThreadUnretained,
           let call = lanes._withUnsafeGuaranteedRef({ $0.takeSpare() }) {
            call.invoke = invoke
            call.valueType = valueType
            call.dropValue = dropValue
            return call
        }
        return BridgeCall(invoke: invoke, valueType: valueType, dropValue: dropValue)
    }

    /// The caller, after it took the value of a call that ended normally:
    /// keeps the call for this hub's next `awaitAsync`. Only such a call is
    /// kept: one whose wait ended early (timeout, kill) still belongs to its
    /// worker, which will write its late outcome into it. A worker that has
    /// taken the call back to its idle list may still hold a reference to it
    /// until it is given its next call; it reads nothing through it (see
    /// `BridgeWorker.serve`).
    @usableFromInline
    func recycle() {
        // (The thread's lanes are those of the hub this call just ran on:
    // `perform` found them through the same slot. A call that ended normally
    // holds nothing: its body was taken, its value too, `error` is nil.
    // `lane` is set anew by the next `perform`.)
        guard finished, !abandoned, let lanes = BridgeLanes.ofThisThreadUnretained else { return }
        lanes._withUnsafeGuaranteedRef { lanes in
            guard lanes.spare == nil else { return }
            finished = false
            lanes.spare = Unmanaged.passRetained(self)
        }
    }

    /// Whether a `T` is kept in `valueWords`.
    @inlinable
    static func fitsInline<T>(_: T.Type) -> Bool {
        MemoryLayout<T>.size <= 32 && MemoryLayout<T>.alignment <= 8
    }

    /// Worker: keeps the body's value.
    @inlinable
    func storeValue<T>(_ value: T) {
        if BridgeCall.fitsInline(T.self) {
            withUnsafeMutableBytes(of: &valueWords) { $0.baseAddress!.initializeMemory(as: T.self, to: value) }
        } else {
            let box = UnsafeMutableRawPointer.allocate(
                byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
            box.initializeMemory(as: T.self, to: value)
            valueBox = box
        }
        hasValue = true
    }

    /// The caller, after `perform` returned: moves the value out.
    @inlinable
    func takeValue<T>(as _: T.Type) -> T {
        hasValue = false
        if let box = valueBox {
            valueBox = nil
            defer { box.deallocate() }
            return box.assumingMemoryBound(to: T.self).move()
        }
        return withUnsafeMutableBytes(of: &valueWords) { $0.baseAddress!.assumingMemoryBound(to: T.self).move() }
    }

    /// Before the worker starts: keeps the body (a closure, two words) in the
    /// value storage, for `invoke` to take.
    @inlinable
    func storeBody<F>(_ body: F) {
        withUnsafeMutableBytes(of: &valueWords) { $0.baseAddress!.initializeMemory(as: F.self, to: body) }
        holdsBody = true
    }

    /// Worker, first thing: takes the body out of the value storage.
    @inlinable
    func takeBody<F>(as _: F.Type) -> F {
        holdsBody = false
        return withUnsafeMutableBytes(of: &valueWords) { $0.baseAddress!.assumingMemoryBound(to: F.self).move() }
    }

    deinit {
        // (`holdsBody` here would mean the worker never ran: its Task, which
        // holds the call, leaked with it; nothing to drop then.)
        dropStoredValue()
    }

    /// Destroys a value stored and never taken.
    private func dropStoredValue() {
        guard hasValue, !holdsBody else { return }
        hasValue = false
        if let box = valueBox {
            valueBox = nil
            dropValue(box)
            box.deallocate()
        } else {
            let drop = dropValue
            withUnsafeMutableBytes(of: &valueWords) { drop($0.baseAddress!) }
        }
    }

    /// Hands the call to a worker (`stageBody` puts the body in the call
    /// first) and parks the calling greenlet until the body's outcome is in;
    /// on return the call holds the value.
    /// - Throws: what the body threw; `AsyncBridgeError.calledInsideTask`, `GreenError.blockingInHub`,
    ///   `GreenError.negativeTimeout`, `Timeout`, an error injected into the
    ///   caller (kill, a started `Timeout`).
    /// - Note: switches (unless the body ends before its first suspension).
    @usableFromInline
    func perform(
        timeout: Duration?, executorPreference: (any TaskExecutor)?, stageBody: (BridgeCall) -> Void
    ) throws {
        if isInsideSwiftTask { throw AsyncBridgeError.calledInsideTask }
        let timeout = try validated(timeout)
        // The hub at +0: the calling thread keeps it alive while it runs.
        try Hub.currentUnretained._withUnsafeGuaranteedRef {
            try perform(on: $0, timeout: timeout, executorPreference: executorPreference, stageBody: stageBody)
        }
    }

    /// `perform` on the calling thread's hub (borrowed, no retain). The
    /// caller is named by its record, not its object: the greenlet is parked
    /// in `wait` (alive, its frame holds it) for as long as `waiter` is set.
    private func perform(
        on hub: Hub, timeout: Duration?, executorPreference: (any TaskExecutor)?,
        stageBody: (BridgeCall) -> Void
    ) throws {
        let rec = green_get_current().unsafelyUnwrapped
        if rec == hub.hot.pointee.hubRecord { throw GreenError.blockingInHub }
        if rec.pointee.has_pending_error != 0 { try Hub.throwPending(rec) }
        let lane = BridgeLanes.unretained(of: hub)._withUnsafeGuaranteedRef { $0.lane(for: executorPreference) }
        // A recycled call usually keeps its lane: no store, no retain/release.
        if self.lane !== lane {
            self.lane = lane
            onHubLane = lane.isHubLane
        }
        waiter = rec
        stageBody(self)  // nothing throws from here until the worker took it
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

    /// Worker, inside `withUnsafeContinuation`, once the outcome is stored:
    /// the worker waits on `k` for its next call; brings both to the hub
    /// (`BridgeLane.finish`).
    @usableFromInline
    func finish(waitingOn k: UnsafeContinuation<BridgeCall?, Never>) {
        nextCall = k
        // +0: the call holds its lane.
        unowned(unsafe) let lane = self.lane.unsafelyUnwrapped
        lane.finish(self)
    }

    /// Hub thread: the body is done. Wakes the waiter unless it left, and
    /// gives the worker back to its lane (or ends it).
    func deliver() {
        // (+0: the call holds its lane, which holds its hub.)
        unowned(unsafe) let lane = self.lane.unsafelyUnwrapped
        let worker = self.worker.take()
        let next = self.nextCall.take()
        if !abandoned {
            finished = true
            if loopRef { loopRef = false; ev_unref(lane.loop) }
            if let w = waiter {
                waiter = nil
                lane.hubUnretained._withUnsafeGuaranteedRef { $0.wake(record: w) }
            }
        } else {
            // A late outcome: dropped now, not when the call goes. An idle
            // worker that once ran this call object (it may be a recycled
            // one) can hold it until that worker's next call.
            dropStoredValue()
            error = nil
        }
        if let next { lane.takeBack(worker!, next, reusable: !abandoned) }
    }

    /// Another thread: the worker finished the body there.
    override func run() { deliver() }
}
