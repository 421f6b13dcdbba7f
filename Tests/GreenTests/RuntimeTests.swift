import Atomics
import Glibc
import Green
import Testing

/// A runtime of several hubs: placement, joining across hubs, stopping.
@Suite struct RuntimeTests {
    @Test func greenletsRunOnTheHubTheirPlacementNames() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        try green {
            let a = try runtime.spawn(on: .hub(0)) { Hub.current.id }
            let b = try runtime.spawn(on: .hub(1)) { Hub.current.id }
            #expect(try a.get() == runtime.hubs[0].id)
            #expect(try b.get() == runtime.hubs[1].id)
            #expect(runtime.hubs[0].id != runtime.hubs[1].id)
        }
    }

    @Test func aGreenletSpawnedLocallyStaysOnItsParentsHub() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        let (parent, child) = try green { () -> (Int, Int) in
            let g = try runtime.spawn(on: .hub(1)) { () -> (Int, Int) in
                let c = try runtime.spawn(on: .local) { Hub.current.id }
                return (Hub.current.id, try c.get())
            }
            return try g.get()
        }
        #expect(parent == child)
        #expect(parent == runtime.hubs[1].id)
    }

    @Test func leastLoadedSpreadsGreenletsOverEveryHub() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        let hubsSeen = try green { () -> Set<Int> in
            let release = Event()
            let gs = try (0..<8).map { _ in
                try runtime.spawn(on: .leastLoaded) { () -> Int in
                    let id = Hub.current.id
                    try release.wait()
                    return id
                }
            }
            release.set()
            return Set(try gs.map { try $0.get() })
        }
        #expect(hubsSeen == Set(runtime.hubs.map(\.id)))
    }

    @Test func errorsAndKillsCrossHubs() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        try green {
            let failing = try runtime.spawn(on: .hub(1)) { () throws -> Int in throw Boom(tag: "far") }
            #expect(throws: Boom(tag: "far")) { try failing.get() }
            let sleeper = try runtime.spawn(on: .hub(0)) { try sleep(.seconds(60)) }
            try sleeper.kill()
            #expect(sleeper.isSuccessful)
            #expect(try sleeper.join(timeout: .zero))
        }
    }

    @Test func aJoinAcrossHubsTimesOutWithoutLosingTheGreenlet() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        try green {
            let gate = Event()
            let g = try runtime.spawn(on: .hub(1)) { () -> Int in try gate.wait(); return 7 }
            #expect(try g.join(timeout: .milliseconds(20)) == false)
            gate.set()
            #expect(try g.get() == 7)
        }
    }

    @Test func stoppingARuntimeUnwindsItsParkedGreenlets() throws {
        let runtime = try GreenRuntime(hubs: 2)
        let unwound = ManagedAtomic<Int>(0)
        let started = ManagedAtomic<Int>(0)
        for i in 0..<10 {
            try runtime.spawn(on: .hub(i % 2)) {
                defer { unwound.wrappingIncrement(ordering: .relaxed) }
                started.wrappingIncrement(ordering: .relaxed)
                try sleep(.seconds(600))
            }
        }
        // Wait (on a plain thread) until all ten run.
        while started.load(ordering: .relaxed) < 10 { usleep(1000) }
        runtime.stop()
        #expect(unwound.load(ordering: .relaxed) == 10)
        #expect(runtime.isStopped)
    }

    @Test func aThreadThatEndsUnwindsItsGreenlets() throws {
        let unwound = ManagedAtomic<Int>(0)
        try green {
            for _ in 0..<5 {
                spawn {
                    defer { unwound.wrappingIncrement(ordering: .relaxed) }
                    _ = try WaitList().wait(timeout: .seconds(600))
                }
            }
            try yieldGreenlet()
        }
        #expect(unwound.load(ordering: .relaxed) == 5)
    }

    @Test func badHubCountsAreTypedErrors() throws {
        #expect(throws: RuntimeError.badHubCount(0)) { _ = try GreenRuntime(hubs: 0) }
    }

    @Test func theCallingThreadCanBeHubZero() throws {
        try green {
            let runtime = try GreenRuntime(hubs: 2, includingCallingThread: true)
            #expect(runtime.hubs[0] === Hub.current)
            let far = try runtime.spawn(on: .hub(1)) { Hub.current.id }
            #expect(try far.get() == runtime.hubs[1].id)
            runtime.stop()
            #expect(Hub.current.runtime == nil)
        }
    }
}
