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
/// Where `body` runs: by default on the calling greenlet's hub, as jobs of
/// `Hub.executor` run: on the hub's thread, as the hub greenlet would run
/// it, so async work that is already on that hub (an actor using its
/// executor, the Task's own steps) costs no cross-thread wake-up, and
/// awaits that resume elsewhere come back through the hub's thread-safe
/// entry. Its first step runs at once, on the caller's stack: a body that
/// returns before it first suspends costs no greenlet switch. Pass
/// `executorPreference: globalConcurrentExecutor` for CPU-heavy bodies that
/// should run on Swift's thread pool instead. Either way no greenlet switch
/// happens inside `body` (a blocking green call there throws
/// `GreenError.blockingInHub`): the greenlet parks in this synchronous
/// function, and the body runs as ordinary Swift async code.
///
/// `body` is `nonisolated(nonsending)` (SE-0461): it runs on the worker's
/// executor (the hub, or `executorPreference`) as a plain call, with no
/// executor switch into it or back out of it; async functions it calls that
/// are nonisolated run there too (the worker prefers that executor).
///
/// The Task: bodies run in long-lived worker Tasks of the hub, one body at a
/// time each, reused from call to call (see `BridgeLane`); not a new Task per
/// call. Task-local values of one call do not leak into the next (a body can
/// only bind them in a scope).
///
/// Cancellation: when the wait ends early (`timeout`, a kill, a `Timeout`
/// started around the call), the body's Task is cancelled at once (and never
/// reused) and whatever it returns later is dropped (and released).
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
@inlinable
public func awaitAsync<T: Sendable>(
    timeout: Duration? = nil,
    executorPreference: (any TaskExecutor)? = nil,
    _ body: nonisolated(nonsending) @escaping @Sendable () async throws -> T
) throws -> T {
    // Inlinable, so the caller's module specializes the closures below and
    // they capture nothing; the call itself is not generic: no generic
    // metadata is looked up, made or destroyed per call. `body` travels in the
    // call's value storage until the worker takes it (no closure context to
    // allocate for it).
    //
    // `invoke` runs the body, then waits in place for the worker's next call
    // and runs that too when its value is also a `T` (the same `invoke` and
    // `dropValue`, in whichever module they were specialized): only a call of
    // another type goes back to the worker's loop (`BridgeWorker.serve`).
    // Each return from an async call costs Swift a task switch (a lookup of
    // the worker's executor preference under the task's lock); the wait on
    // the hub's lane has none after it.
    let call = BridgeCall.obtain(
        invoke: { first in
            var call = first
            while true {
                let body = call.takeBody(as: (nonisolated(nonsending) @Sendable () async throws -> T).self)
                do { call.storeValue(try await body()) } catch { call.error = error }
                let done = call
                let next: BridgeCall?
                if done.onHubLane {
                    // The worker runs on the hub's thread only, and so does
                    // whoever resumes it: this form has no hop after the wait.
                    next = await _unsafeInheritExecutor_withUnsafeContinuation { done.finish(waitingOn: $0) }
                } else {
                    // Resumed across threads: keep the form whose resumed
                    // half is known to ThreadSanitizer's suppressions.
                    next = await withUnsafeContinuation { done.finish(waitingOn: $0) }
                }
                guard let next else { return nil }
                next.received()  // before anything is read from it
                guard next.valueType == ObjectIdentifier(T.self) else { return next }
                call = next
            }
        },
        valueType: ObjectIdentifier(T.self),
        dropValue: { $0.assumingMemoryBound(to: T.self).deinitialize(count: 1) })
    try call.perform(timeout: timeout, executorPreference: executorPreference) { $0.storeBody(body) }
    let value = call.takeValue(as: T.self)
    call.recycle()
    return value
}
