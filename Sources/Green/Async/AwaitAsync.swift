import CLibev

/// Runs async code from green code: `body` runs in a Swift `Task` while only
/// the calling greenlet parks; its hub keeps running the others. The value or
/// error comes back on the greenlet's own hub, whole and typed.
///
/// ```swift
/// let page = try awaitAsync(timeout: .seconds(10)) {
///     try await client.execute(request, timeout: .seconds(10)).body.collect(upTo: 1 << 20)
/// }
/// ```
///
/// Where `body` runs: by default on the calling greenlet's hub, through the
/// hub's executor (`Hub.executor`): between greenlets, on the hub's thread, so
/// async work that is already on that hub (an actor using its executor, the
/// Task's own steps) costs no cross-thread wake-up, and awaits that resume
/// elsewhere come back through the hub's thread-safe entry. Pass
/// `executorPreference: globalConcurrentExecutor` for CPU-heavy bodies that
/// should run on Swift's thread pool instead. Either way no greenlet switch
/// happens inside `body`: the greenlet parks in this synchronous function, and
/// the Task runs as ordinary Swift async code.
///
/// Cancellation: when the wait ends early (`timeout`, a kill, a `Timeout`
/// started around the call), the Task is cancelled at once and whatever it
/// returns later is dropped (and released) on the hub.
///
/// - Parameters:
///   - timeout: how long to wait; nil waits without limit.
///   - executorPreference: where `body` runs (default: the calling greenlet's hub).
///   - body: the async work.
/// - Returns: what `body` returned.
/// - Throws: what `body` threw, unchanged; `Timeout` when `timeout` elapsed
///   first; an error injected into the caller (kill, a started `Timeout`);
///   `GreenError.blockingInHub` when called on the hub greenlet (a link
///   callback, a watcher); `AsyncBridgeError.calledInsideTask` when called from
///   synchronous code inside a Swift Task; `GreenError.negativeTimeout`.
/// - Note: switches. Call it from green code of any thread: on a plain thread
///   that has no hub yet, it makes that thread's hub.
public func awaitAsync<T: Sendable>(
    timeout: Duration? = nil,
    executorPreference: (any TaskExecutor)? = nil,
    _ body: @escaping @Sendable () async throws -> T
) throws -> T {
    if isInsideSwiftTask { throw AsyncBridgeError.calledInsideTask }
    let timeout = try validated(timeout)
    let hub = Hub.current
    let me = hub.current
    if me === hub.hubGreenlet { throw GreenError.blockingInHub }
    try me.throwPendingError()
    let call = AsyncCall<T>(hub: hub, waiter: me)
    let deliver = call.deliver
    call.task = Task(executorPreference: executorPreference ?? hub.executor) {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        deliver(outcome)
    }
    return try call.wait(timeout: timeout)
}

/// One `awaitAsync` in flight: the Task's outcome and the greenlet waiting for it.
///
/// Invariants: every stored property except `task`'s creation is read and
/// written on the hub's thread only: by the waiting greenlet, and by
/// `complete`, which runs on the hub (directly when the Task finishes on the
/// hub's thread, otherwise through `runThreadsafe`, whose queue orders the
/// Task's writes before the hub's reads). The call holds one reference on the
/// hub's libev loop (`ev_ref`) while the greenlet waits, so a hub whose only
/// work is this call does not report `wouldBlockForever`; it is released
/// exactly once: by `complete`, or by `abandon` when the wait ends early.
final class AsyncCall<T: Sendable>: @unchecked Sendable {
    private let hub: Hub
    private var waiter: AnyGreenlet?
    private var outcome: Result<T, any Error>?
    private var abandoned = false
    var task: Task<Void, Never>?

    init(hub: Hub, waiter: AnyGreenlet) {
        self.hub = hub
        self.waiter = waiter
        ev_ref(hub.loop)
    }

    /// Any thread: brings the Task's outcome to the hub. Dropped when the hub
    /// has ended (nobody waits there any more).
    var deliver: @Sendable (Result<T, any Error>) -> Void {
        { [self] outcome in
            if hub.isOnHubThread {
                complete(outcome)
            } else {
                hub.runThreadsafe { self.complete(outcome) }
            }
        }
    }

    /// Hub thread: records the outcome and wakes the waiter, unless it left.
    private func complete(_ outcome: Result<T, any Error>) {
        if abandoned { return }
        ev_unref(hub.loop)
        self.outcome = outcome
        if let w = waiter {
            waiter = nil
            hub.wake(w)
        }
    }

    /// The waiting greenlet gives up: the Task is cancelled and its outcome
    /// will be dropped.
    private func abandon() {
        guard !abandoned, outcome == nil else { return }
        abandoned = true
        waiter = nil
        ev_unref(hub.loop)
        task?.cancel()
    }

    /// Parks the calling greenlet until the outcome arrives.
    func wait(timeout: Duration?) throws -> T {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while outcome == nil {
            var left: Duration? = nil
            if let deadline {
                left = deadline - ContinuousClock.now
                if left! <= .zero {
                    abandon()
                    throw Timeout(timeout!)
                }
            }
            let woken: Bool
            do { woken = try hub.park(timeout: left) } catch {
                if outcome != nil {
                    // The outcome arrived first: keep it, throw the error at
                    // the next blocking call.
                    hub.current.pendingError = error
                    break
                }
                abandon()
                throw error
            }
            if !woken && outcome == nil {
                abandon()
                throw Timeout(timeout!)
            }
        }
        task = nil
        return try outcome!.get()
    }
}
