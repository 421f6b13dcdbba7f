import Glibc
import Green
import Testing

/// A value too big to be kept inline in a call (it is boxed on the way back).
struct Wide: Sendable, Equatable {
    var a = 1, b = 2, c = 3, d = 4, e = 5
    var tag: String
}

/// A wide value that says when it is released.
struct WideTracked: Sendable {
    var padding = (1, 2, 3, 4, 5)
    let tracked: Tracked
}

/// The worker Tasks behind `awaitAsync`: reused from call to call, never after
/// a cancellation, and a body's first step run on the caller's greenlet as the
/// hub greenlet would run it.
@Suite struct BridgeWorkerTests {
    @Test func valuesOfEveryShapeComeBackWhole() async throws {
        let got = try await Green.run { () -> [String] in
            var out: [String] = []
            out.append(String(try awaitAsync { 7 }))
            out.append(try awaitAsync { "a string" })
            out.append(try awaitAsync { await Task.yield(); return "after a suspension" })
            out.append(try awaitAsync { Wide(tag: "wide") }.tag)
            out.append(try awaitAsync { () -> Wide in await Task.yield(); return Wide(tag: "wide later") }.tag)
            try awaitAsync { () -> Void in }
            out.append(try awaitAsync(executorPreference: globalConcurrentExecutor) { Wide(tag: "wide global") }.tag)
            return out
        }
        #expect(got == ["7", "a string", "after a suspension", "wide", "wide later", "wide global"])
    }

    /// A worker runs calls of one value type one after another without
    /// leaving their `invoke` (see `awaitAsync`): runs of one type, switches
    /// between types, errors and suspensions in the middle of a run.
    @Test func runsOfOneTypeAndSwitchesBetweenTypesKeepTheirOutcomes() async throws {
        struct Oops: Error, Equatable { let n: Int }
        let got = try await Green.run { () -> [String] in
            var out: [String] = []
            for round in 0..<3 {
                for i in 0..<3 { out.append(String(try awaitAsync { round * 10 + i })) }
                do {
                    _ = try awaitAsync { () async throws -> Int in throw Oops(n: round) }
                } catch let e as Oops { out.append("oops \(e.n)") }
                out.append(String(try awaitAsync { () -> Int in await Task.yield(); return -round }))
                out.append(try awaitAsync { "s\(round)" })
                out.append(try awaitAsync { Wide(tag: "w\(round)") }.tag)
            }
            return out
        }
        var expected: [String] = []
        for round in 0..<3 {
            for i in 0..<3 { expected.append(String(round * 10 + i)) }
            expected += ["oops \(round)", String(-round), "s\(round)", "w\(round)"]
        }
        #expect(got == expected)
    }

    @Test func aBodyAfterATimedOutOneIsNotCancelled() async throws {
        for preference in [nil, globalConcurrentExecutor] as [(any TaskExecutor)?] {
            let states = try await Green.run { () -> [Bool] in
                var states: [Bool] = []
                do {
                    _ = try awaitAsync(timeout: .milliseconds(10), executorPreference: preference) {
                        await Signal<Int>().next()  // never sent; ends when cancelled
                    }
                } catch is Timeout {}
                for _ in 0..<3 {
                    states.append(try awaitAsync(executorPreference: preference) { Task.isCancelled })
                }
                return states
            }
            #expect(states == [false, false, false])
        }
    }

    @Test func aBlockingGreenCallInTheBodyThrowsBlockingInHub() async throws {
        let errors = try await Green.run { () -> [GreenError?] in
            let q = Queue<Int>()
            let first = try awaitAsync { () -> GreenError? in
                do { _ = try q.get(); return nil } catch { return error as? GreenError }
            }
            let later = try awaitAsync { () -> GreenError? in
                await Task.yield()
                do { _ = try q.get(); return nil } catch { return error as? GreenError }
            }
            return [first, later]
        }
        #expect(errors == [.blockingInHub, .blockingInHub])
    }

    @Test func awaitAsyncInsideTheBodyThrowsCalledInsideTask() async throws {
        let error = try await Green.run { () -> AsyncBridgeError? in
            try awaitAsync { () -> AsyncBridgeError? in
                do { _ = try awaitAsync { 1 }; return nil } catch { return error as? AsyncBridgeError }
            }
        }
        #expect(error == .calledInsideTask)
    }

    @Test func manyGreenletsAwaitAtOnceOnOneHub() async throws {
        let sum = try await Green.run { () -> Int in
            let count = 100
            let gates = (0..<count).map { _ in Signal<Void>() }
            let waiting = AsyncResult<Void>()
            let started = Counter()
            let greenlets = (0..<count).map { i in
                spawn { () -> Int in
                    try awaitAsync {
                        if started.increment() == count { try? waiting.set(()) }
                        await gates[i].next()  // all suspended at once: one worker each
                        return i
                    }
                }
            }
            try waiting.get()
            for gate in gates { gate.send(()) }
            var sum = 0
            for g in greenlets { sum += try g.get() }
            // Again, now with idle workers to reuse.
            for i in 0..<count { sum += try awaitAsync { i } }
            return sum
        }
        #expect(sum == 2 * (0..<100).reduce(0, +))
    }

    @Test func abandonedAndFinishedCallsMixedLeaveWorkersSound() async throws {
        let ok = try await Green.run { () -> Bool in
            for i in 0..<300 {
                let preference: (any TaskExecutor)? = i % 2 == 0 ? nil : globalConcurrentExecutor
                do {
                    // Zero timeout: abandoned unless the body ends in its first step.
                    let got = try awaitAsync(timeout: i % 3 == 0 ? .zero : nil, executorPreference: preference) {
                        await Task.yield()
                        return i
                    }
                    if got != i { return false }
                } catch is Timeout {}
            }
            for i in 0..<50 {
                for preference in [nil, globalConcurrentExecutor] as [(any TaskExecutor)?] {
                    let (value, cancelled) = try awaitAsync(executorPreference: preference) { (i, Task.isCancelled) }
                    if value != i || cancelled { return false }
                }
            }
            return true
        }
        #expect(ok)
    }

    @Test func aThreadWhoseHubEndsWithIdleWorkersEndsCleanly() throws {
        for _ in 0..<3 {
            let n = try runInNewThread {
                try awaitAsync { 1 } + (try awaitAsync(executorPreference: globalConcurrentExecutor) { 2 })
            }
            #expect(n == 3)
        }
    }

    @Test func aLateWideResultIsReleased() async throws {
        try await expectLateWideResultReleased(after: {})
    }

    /// The same with a call object that served an earlier call on another
    /// lane: the worker that ran that call sits idle there and may still hold
    /// the object, so the late value must be dropped when it arrives, not
    /// when the object goes.
    @Test func aLateResultOfAReusedCallIsReleased() async throws {
        try await expectLateWideResultReleased(after: {
            _ = try awaitAsync(executorPreference: globalConcurrentExecutor) { 1 }
        })
    }

    /// In a greenlet, runs `first`, then an `awaitAsync` that times out while
    /// its body ignores cancellation; then lets the body return a value that
    /// needs releasing, and waits until it is released (hangs if it leaked).
    private func expectLateWideResultReleased(after first: @escaping @Sendable () throws -> Void) async throws {
        let released = Signal<Void>()
        let gate = Signal<Void>()
        let outcome = try await Green.run { () -> String in
            try first()
            do {
                _ = try awaitAsync(timeout: .milliseconds(10)) { () -> WideTracked in
                    await withTaskCancellationHandler {
                        await gate.next()  // ignores cancellation until the gate opens
                    } onCancel: {}
                    return WideTracked(tracked: Tracked(released))
                }
                return "returned"
            } catch is Timeout {
                return "timeout"
            }
        }
        #expect(outcome == "timeout")
        gate.send(())
        await released.next()  // would hang if the late value leaked
    }
}

/// A counter shared by greenlets of one hub.
final class Counter: @unchecked Sendable {
    private var n = 0
    func increment() -> Int { n += 1; return n }
}
