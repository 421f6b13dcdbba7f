/// BridgeWorkloads: the two ways between greenlets and async/await (`bridge`,
/// `green-from-async`), and their Swift-concurrency baselines.
///
/// - bridge, green: a greenlet calls `awaitAsync { n }` COUNT times; the body
///   runs on the greenlet's hub (`--executor hub`, the default) or on Swift's
///   pool (`--executor global`).
/// - bridge, swift: a Task awaits a call on another actor COUNT times (`actor_hop`).
/// - green-from-async, green: a Task calls `Green.run { n }` COUNT times; the Task
///   runs on Swift's pool (`--executor global`, the default) or on the hub of
///   `Green.run` itself (`--executor hub`).
/// - green-from-async, swift: a Task starts a Task and awaits its value COUNT
///   times (`task_value`), the Swift way to run work in a new unit and wait.
import Green
import Histogram

/// Where the async side of a bridge workload runs.
enum BridgeExecutor: String, CaseIterable, Sendable {
    /// On a Green hub, through its `HubExecutor`.
    case hub
    /// On Swift's global concurrent executor (its thread pool).
    case global
}

/// Times `calls` calls of `body`, after a few untimed ones.
private func timeCalls(_ calls: Int, _ body: (Int) throws -> Void) rethrows -> (seconds: Double, latencies: Histogram<UInt64>) {
    for i in 0..<min(1000, max(1, calls / 10)) { try body(i) }
    var latencies = makeLatencyHistogram()
    let watch = Stopwatch()
    for i in 0..<calls {
        let t0 = monotonicNanos()
        try body(i)
        _ = latencies.record(monotonicNanos() - t0)
    }
    return (watch.elapsedSeconds, latencies)
}

/// The async twin of `timeCalls`.
private func timeCallsAsync(_ calls: Int, _ body: (Int) async throws -> Void) async rethrows -> (seconds: Double, latencies: Histogram<UInt64>) {
    for i in 0..<min(1000, max(1, calls / 10)) { try await body(i) }
    var latencies = makeLatencyHistogram()
    let watch = Stopwatch()
    for i in 0..<calls {
        let t0 = monotonicNanos()
        try await body(i)
        _ = latencies.record(monotonicNanos() - t0)
    }
    return (watch.elapsedSeconds, latencies)
}

/// bridge on Green: `awaitAsync` of a trivial body, from the root greenlet of this thread.
func greenBridge(_ calls: Int, executor: BridgeExecutor) throws -> Report {
    let preference: (any TaskExecutor)? = executor == .global ? globalConcurrentExecutor : nil
    var sum = 0
    let (seconds, latencies) = try timeCalls(calls) { i in
        sum &+= try awaitAsync(executorPreference: preference) { i }
    }
    precondition(sum != -1)
    var report = Report.bridge(runtime: .green, calls: calls, seconds: seconds, latencies: latencies)
    report.add("executor", executor.rawValue)
    return report
}

/// green-from-async on Green: `Green.run` of a trivial body from a Task.
func greenFromAsync(_ calls: Int, executor: BridgeExecutor) throws -> Report {
    let preference: (any TaskExecutor)? = executor == .hub ? Green.executor : nil
    return try runDetached(executorPreference: preference) {
        var sum = 0
        let (seconds, latencies) = try await timeCallsAsync(calls) { i in
            sum &+= try await Green.run { i }
        }
        precondition(sum != -1)
        var report = Report.greenFromAsync(runtime: .green, calls: calls, seconds: seconds, latencies: latencies)
        report.add("executor", executor.rawValue)
        return report
    }
}

/// The other actor of the swift baseline.
private actor Peer {
    var total = 0
    func call(_ n: Int) -> Int {
        total &+= n
        return total
    }
}

/// bridge's baseline: a Task awaits a call on another actor.
func swiftActorHop(_ calls: Int) async -> Report {
    let peer = Peer()
    let (seconds, latencies) = await timeCallsAsync(calls) { i in _ = await peer.call(i) }
    return .bridge(runtime: .swift, idiom: "actor_hop", calls: calls, seconds: seconds, latencies: latencies)
}

/// green-from-async's baseline: a Task starts a Task and awaits its value.
func swiftTaskValue(_ calls: Int) async -> Report {
    var sum = 0
    let (seconds, latencies) = await timeCallsAsync(calls) { i in sum &+= await Task { i }.value }
    precondition(sum != -1)
    return .greenFromAsync(runtime: .swift, idiom: "task_value", calls: calls, seconds: seconds,
                           latencies: latencies)
}
