import Glibc
import Green
import Testing

/// A Swift actor that runs on a hub's thread.
actor Tally {
    let executor: HubExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    init(executor: HubExecutor) { self.executor = executor }

    var count = 0
    var threads: Set<UInt> = []
    func add(_ n: Int) -> Int {
        count += n
        threads.insert(UInt(pthread_self()))
        return count
    }
}

/// Nonisolated async work an actor awaits in the middle of a method.
func nonisolatedStep(_ n: Int) async -> Int {
    await Task.yield()
    return n + 1
}

extension Tally {
    /// Leaves the actor for nonisolated code and comes back (other calls may
    /// run meanwhile: actors are reentrant), checking its isolation on both
    /// sides; then adds one, with no suspension between the read and the write.
    func roundTrip(_ n: Int) async -> Int {
        preconditionIsolated()
        let m = await nonisolatedStep(n)
        preconditionIsolated()
        let c = count
        count = c + (m - n)
        return m - n
    }
}

@Suite struct HubExecutorTests {
    @Test func actorMethodsThatLeaveAndReenterStayIsolatedAndSerial() async throws {
        let (tally, hubThread) = try await Green.run { (Tally(executor: Hub.current.executor), UInt(pthread_self())) }
        // Tasks on the hub and on Swift's pool, interleaving round trips.
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<40 {
                let preference: (any TaskExecutor)? = i % 2 == 0 ? Green.executor : nil
                group.addTask(executorPreference: preference) {
                    var sum = 0
                    for _ in 0..<10 { sum += await tally.roundTrip(i) }
                    _ = await tally.add(0)
                    return sum
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == 400)
        #expect(await tally.count == 400)
        #expect(await tally.threads == [hubThread])
    }

    @Test func anActorOnAHubRunsOnTheHubsThreadBetweenGreenlets() async throws {
        let (tally, hubThread) = try await Green.run { (Tally(executor: Hub.current.executor), UInt(pthread_self())) }
        // From async code on other threads...
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = await tally.add(1) } }
            try await group.waitForAll()
        }
        // ...and from greenlets of its hub, each awaiting it.
        let fromGreen = try await Green.run { () -> Int in
            let gs = (0..<20).map { _ in spawn { try awaitAsync { await tally.add(1) } } }
            try joinAll(gs)
            return try awaitAsync { await tally.count }
        }
        #expect(fromGreen == 40)
        #expect(await tally.threads == [hubThread])
    }

    @Test func greenCodeOfTheHubIsIsolatedToItsActors() async throws {
        let n = try await Green.run { () -> Int in
            let tally = Tally(executor: Hub.current.executor)
            // A greenlet of the hub never runs at the same time as the actor's jobs.
            return tally.assumeIsolated { $0.add(5) }
        }
        #expect(n == 5)
    }

    @Test func aTaskPreferringTheHubRunsOnItsThread() async throws {
        let hubThread = try await Green.run { UInt(pthread_self()) }
        let steps = await Task(executorPreference: Green.executor) { () -> [UInt] in
            var seen = [UInt(pthread_self())]
            await Task.yield()
            seen.append(UInt(pthread_self()))
            return seen
        }.value
        #expect(steps == [hubThread, hubThread])
    }

    @Test func awaitingAnActorOfTheSameHubStaysOnTheHub() async throws {
        let threads = try await Green.run { () -> [UInt] in
            let tally = Tally(executor: Hub.current.executor)
            let me = UInt(pthread_self())
            _ = try awaitAsync { await tally.add(1) }
            return [me] + (try awaitAsync { await Array(tally.threads) })
        }
        #expect(threads.count == 2 && threads[0] == threads[1])
    }
}
