extension Green {
    /// Runs green code from async code: `body` runs in a new greenlet on a hub,
    /// and the calling Task suspends (no thread of Swift's pool is blocked)
    /// until it ends.
    ///
    /// ```swift
    /// @Test func queueHandsOver() async throws {
    ///     let got = try await Green.run {
    ///         let q = Queue<Int>()
    ///         spawn { try q.put(42) }
    ///         return try q.get()
    ///     }
    ///     #expect(got == 42)
    /// }
    /// ```
    ///
    /// Which hub: the hub whose executor runs the caller when there is one (a
    /// Task or actor on `Hub.executor`: then nothing crosses threads), else a
    /// process-wide hub on a thread of its own, started on first use and
    /// living as long as the process (`Green.executor`). Greenlets of
    /// concurrent calls share that hub and run concurrently there, as
    /// greenlets do; state they leave on it (actors, registered names) stays.
    ///
    /// Cancellation: cancelling the calling Task kills the greenlet with
    /// Swift's `CancellationError`, thrown at its blocking call (its `defer`s
    /// run); `run` then throws what the greenlet ended with, normally that
    /// `CancellationError`. A Task cancelled before the greenlet started throws
    /// `CancellationError` without running `body`.
    ///
    /// - Parameter body: the green code; it may block (park) freely.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw, unchanged; `CancellationError` as above;
    ///   `GreenletExit` when something else killed the greenlet cleanly.
    /// - Note: an async function; call it from any Task or thread of Swift
    ///   concurrency. (A `placement` argument will choose among several hubs.)
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await runGreenlet(on: hubForAsyncCaller(), body)
    }

    /// The executor of the process-wide hub that `Green.run` uses (started on
    /// first use): give it to an actor or a Task (`Task(executorPreference:)`)
    /// to run async code on that hub's thread, next to the greenlets of
    /// `Green.run`, with no thread hop between the two.
    /// Any thread; does not switch.
    public static var executor: HubExecutor { AsyncHub.shared.executor }
}

/// The hub a `Green.run` from the calling context goes to: the hub running
/// this code when it is a job of that hub's executor, else the process-wide hub.
func hubForAsyncCaller() -> Hub {
    if let hub = Hub.existing, hub.isOnHubGreenlet { return hub }
    return AsyncHub.shared.hub
}

/// Runs `body` in a new greenlet on `hub` and suspends the calling Task until
/// it ends. `tryFirst`, when given, runs first on the hub greenlet (it must not
/// block); a non-nil result is returned at once, without a greenlet.
/// - Throws: `body`'s error; `CancellationError` when the Task is cancelled
///   (the greenlet is killed with it); `AsyncBridgeError.hubEnded`.
func runGreenlet<T: Sendable>(
    on hub: Hub,
    tryFirst: (@Sendable () throws -> T?)? = nil,
    _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    let call = GreenletCall<T>()
    return try await withTaskCancellationHandler {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<T, any Error>) in
            call.continuation = continuation
            if !hub.enqueue({ call.start(tryFirst: tryFirst, body) }) {
                call.finish(.failure(AsyncBridgeError.hubEnded))
            }
        }
    } onCancel: {
        hub.enqueue { call.cancel() }
    }
}

/// One `Green.run` in flight.
///
/// Invariants: after the Task hands `continuation` over (before it enqueues
/// `start`, so the hub's queue orders the write before any read), every
/// property is touched on the hub's thread only: by `start`, `cancel`, the
/// greenlet and its link callback. The continuation is resumed exactly once
/// (`finish` takes it).
///
/// The greenlet is a `Greenlet<Void>` whose body catches: it hands the
/// outcome over itself as it ends (no generic greenlet, whose metadata would
/// be looked up per call). Its link callback covers a greenlet that never ran
/// its body (killed before it started, or no stack for it).
final class GreenletCall<T: Sendable>: @unchecked Sendable {
    var continuation: UnsafeContinuation<T, any Error>?
    private var greenlet: Greenlet<Void>?
    private var cancelled = false

    /// Hub greenlet: starts the greenlet, or answers at once.
    func start(tryFirst: (@Sendable () throws -> T?)?, _ body: @escaping @Sendable () throws -> T) {
        if cancelled { return finish(.failure(CancellationError())) }
        if let tryFirst {
            do {
                if let value = try tryFirst() { return finish(.success(value)) }
            } catch {
                return finish(.failure(error))
            }
        }
        let g = Greenlet<Void> { [self] in
            do { finish(.success(try body())) } catch { finish(.failure(error)) }
        }
        greenlet = g
        g.link { [self] g in
            greenlet = nil
            // Only when the body never ran: otherwise it has finished already.
            finish(.failure(g.error ?? GreenletExit()))
        }
        try! g.start()
    }

    /// Hub greenlet: the Task was cancelled.
    func cancel() {
        cancelled = true
        try? greenlet?.kill(CancellationError(), block: false)
    }

    /// Resumes the Task, once.
    func finish(_ outcome: Result<T, any Error>) {
        guard let c = continuation else { return }
        continuation = nil
        c.resume(with: outcome)
    }
}
