import Glibc
import Green
import Testing

/// An async error with a payload, to see it arrive whole.
struct AsyncBoom: Error, Equatable { var code: Int }

/// Signals from async code to whoever waits (green or async), with no sleeping.
final class Signal<Value: Sendable>: Sendable {
    let stream: AsyncStream<Value>
    private let continuation: AsyncStream<Value>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream(of: Value.self) }
    func send(_ v: Value) { continuation.yield(v) }
    /// The next value sent (async).
    func next() async -> Value? {
        for await v in stream { return v }
        return nil
    }
}

/// A result object whose release is observable.
final class Tracked: Sendable {
    let released: Signal<Void>
    init(_ released: Signal<Void>) { self.released = released }
    deinit { released.send(()) }
}

@Suite struct AwaitAsyncTests {
    @Test func returnsTheValueOfTheAsyncBody() async throws {
        let n = try await Green.run {
            try awaitAsync { await Task.yield(); return 21 * 2 }
        }
        #expect(n == 42)
    }

    @Test func anErrorOfTheBodyArrivesWholeAndTyped() async throws {
        let caught = try await Green.run { () -> AsyncBoom? in
            do {
                _ = try awaitAsync { () async throws -> Int in throw AsyncBoom(code: 7) }
                return nil
            } catch let e as AsyncBoom {
                return e
            }
        }
        #expect(caught == AsyncBoom(code: 7))
    }

    @Test func onlyTheCallingGreenletParksTheHubRunsTheOthers() async throws {
        let got = try await Green.run {
            let signal = Signal<Int>()
            // The other greenlet of this hub sends what the parked one awaits.
            spawn { signal.send(99) }
            return try awaitAsync { await signal.next() }
        }
        #expect(got == 99)
    }

    @Test func aTimeoutThrowsTimeoutAndCancelsTheTask() async throws {
        let cancelled = Signal<Void>()
        let outcome = try await Green.run { () -> String in
            do {
                _ = try awaitAsync(timeout: .milliseconds(20)) {
                    await withTaskCancellationHandler {
                        await Signal<Int>().next()  // never sent
                    } onCancel: { cancelled.send(()) }
                }
                return "returned"
            } catch is Timeout {
                return "timeout"
            }
        }
        #expect(outcome == "timeout")
        await cancelled.next()  // would hang if the Task were not cancelled
    }

    @Test func killingTheParkedGreenletCancelsTheTaskAndDropsALateResult() async throws {
        let cancelled = Signal<Void>()
        let gate = Signal<Void>()
        let released = Signal<Void>()
        let parked = Signal<Void>()
        let killed = try await Green.run { () -> Bool in
            let g = spawn { () -> Tracked in
                try awaitAsync {
                    parked.send(())
                    await withTaskCancellationHandler {
                        await gate.next()  // ignores cancellation until the gate opens
                    } onCancel: { cancelled.send(()) }
                    return Tracked(released)
                }
            }
            try awaitAsync { await parked.next() }
            try g.kill()  // returns once g has ended: the kill was thrown at once
            return g.isDead && g.isSuccessful && g.value == nil
        }
        #expect(killed)
        await cancelled.next()
        gate.send(())  // the body now returns its result, which nobody wants
        await released.next()  // and it is released on the hub: no leak
    }

    @Test func onTheHubGreenletItThrowsBlockingInHub() async throws {
        let error = try await Green.run { () -> GreenError? in
            let result = AsyncResult<GreenError?>()
            let g = spawn {}
            g.link { _ in
                do {
                    _ = try awaitAsync { 1 }
                    try? result.set(nil)
                } catch {
                    try? result.set(error as? GreenError)
                }
            }
            return try result.get()
        }
        #expect(error == .blockingInHub)
    }

    @Test func insideATaskItThrowsCalledInsideTask() async throws {
        #expect(throws: AsyncBridgeError.calledInsideTask) {
            try awaitAsync { 1 }
        }
    }

    @Test func onAPlainThreadItMakesThatThreadsHub() throws {
        let n = try runInNewThread {
            try awaitAsync { await Task.yield(); return 5 }
        }
        #expect(n == 5)
    }

    @Test func aBodyOnTheGlobalExecutorComesBackToTheHub() async throws {
        let sameThread = try await Green.run { () -> Bool in
            let before = pthread_self()
            let bodyThread = try awaitAsync(executorPreference: globalConcurrentExecutor) { pthread_self() }
            return pthread_equal(before, pthread_self()) != 0 && pthread_equal(before, bodyThread) == 0
        }
        #expect(sameThread)
    }

    @Test func aBodyOnTheHubRunsOnTheHubsThread() async throws {
        let sameThread = try await Green.run { () -> Bool in
            let hubThread = pthread_self()
            let bodyThread = try awaitAsync { pthread_self() }
            return pthread_equal(hubThread, bodyThread) != 0
        }
        #expect(sameThread)
    }
}
