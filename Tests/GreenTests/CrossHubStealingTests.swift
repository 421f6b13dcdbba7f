import Atomics
import Glibc
import Green
import Testing

/// Idle hubs steal unstarted fire-and-forget greenlets (GreenRuntime.swift,
/// "Idle hubs steal"). "CrossHub" in the name: CI's ThreadSanitizer step runs it.
@Suite struct CrossHubStealingTests {
    /// Holds hub 0 of `runtime` in a greenlet that never yields until `release`
    /// is set; returns once it spins.
    private static func stickHub(
        _ i: Int, of runtime: GreenRuntime, until release: @escaping @Sendable () -> Bool
    ) throws -> Greenlet<Void> {
        let spinning = ManagedAtomic<Bool>(false)
        let g = try runtime.spawn(on: .hub(i), name: "stuck-\(i)") {
            spinning.store(true, ordering: .releasing)
            while !release() { sched_yield() }
        }
        // The hub has entered the greenlet: what is placed on it now waits in its queue.
        while !spinning.load(ordering: .acquiring) { sched_yield() }
        return g
    }

    @Test func anIdleHubRunsFireAndForgetGreenletsPlacedOnAStuckHub() throws {
        let runtime = try GreenRuntime(hubs: 2)
        let release = ManagedAtomic<Bool>(false)
        defer {
            release.store(true, ordering: .releasing) // also when an expectation throws
            runtime.stop()
        }
        let ran = ManagedAtomic<Int>(0)
        let ranOnStuckHub = ManagedAtomic<Int>(0)
        let n = 400
        let stuckHub = runtime.hubs[0]
        try green {
            // On hub 1, so that the wait below is a cross-hub one (it keeps this
            // plain thread's hub alive until another hub answers).
            let allRan = runtime.withPlacement(.hub(1)) { Event() }
            let stuck = try Self.stickHub(0, of: runtime) { release.load(ordering: .acquiring) }
            // Hub 1 spawns them (.leastLoaded spreads them over both hubs) and
            // drops each handle; once idle, it takes those placed on hub 0.
            let spawner = try runtime.spawn(on: .hub(1), name: "spawner") { () -> Int in
                var placedOnStuckHub = 0
                for i in 0..<n {
                    let g = try runtime.spawn(on: .leastLoaded, name: "ff-\(i)") {
                        if Hub.current === stuckHub { ranOnStuckHub.wrappingIncrement(ordering: .relaxed) }
                        if ran.wrappingIncrementThenLoad(ordering: .relaxed) == n { allRan.set() }
                    }
                    if g.hub === stuckHub { placedOnStuckHub += 1 }
                }
                return placedOnStuckHub
            }
            let placedOnStuckHub = try spawner.get()
            try allRan.wait() // hub 0 is still stuck: hub 1 ran them all
            #expect(placedOnStuckHub > 0)
            #expect(ranOnStuckHub.load(ordering: .relaxed) == 0)
            #expect(runtime.hubs[1].stolenGreenletCount == placedOnStuckHub)
            release.store(true, ordering: .releasing)
            try stuck.join()
        }
        #expect(ran.load(ordering: .relaxed) == n)
    }

    @Test func aGreenletWhoseHandleIsKeptIsNeverStolen() throws {
        let runtime = try GreenRuntime(hubs: 2)
        let release = ManagedAtomic<Bool>(false)
        defer {
            release.store(true, ordering: .releasing) // also when an expectation throws
            runtime.stop()
        }
        let stuckHub = runtime.hubs[0]
        try green {
            let stuck = try Self.stickHub(0, of: runtime) { release.load(ordering: .acquiring) }
            let spawner = try runtime.spawn(on: .hub(1), name: "spawner") { () -> [(Greenlet<Int>, Int)] in
                try (0..<40).map { i in
                    let g = try runtime.spawn(on: .leastLoaded, name: "kept-\(i)") { Hub.current.id }
                    return (g, g.hub.id)
                }
            }
            let kept = try spawner.get()
            // Hub 1 has been idle with hub 0's queue in view (it looks at every
            // idle pass; this call runs on it after such a pass).
            try runtime.hubs[1].call {}
            #expect(kept.contains { $0.1 == stuckHub.id })
            #expect(runtime.hubs[1].stolenGreenletCount == 0)
            release.store(true, ordering: .releasing)
            for (g, placedOn) in kept { #expect(try g.get() == placedOn) }
            try stuck.join()
        }
    }

    @Test func greenletsSpawnedFromAPlainThreadRunOnceEachWhicheverHubTakesThem() throws {
        let runtime = try GreenRuntime(hubs: 2)
        let release = ManagedAtomic<Bool>(false)
        defer {
            release.store(true, ordering: .releasing)
            runtime.stop()
        }
        let ran = ManagedAtomic<Int>(0)
        let n = 300
        let stuck = try Self.stickHub(0, of: runtime) { release.load(ordering: .acquiring) }
        let allRan = runtime.withPlacement(.hub(1)) { Event() }
        // From this plain thread: each push nudges hub 1, which may take a
        // greenlet before or after this thread drops its handle.
        for i in 0..<n {
            try runtime.spawn(on: .leastLoaded, name: "plain-\(i)") {
                if ran.wrappingIncrementThenLoad(ordering: .relaxed) == n { allRan.set() }
            }
        }
        release.store(true, ordering: .releasing) // what hub 1 left, hub 0 runs
        try green {
            try allRan.wait()
            try stuck.join()
        }
        #expect(ran.load(ordering: .relaxed) == n)
        #expect(runtime.hubs.reduce(0) { $0 + $1.stolenGreenletCount } <= n)
    }

    /// Frees nothing but counts its own end: a greenlet's body holds one.
    private final class Tracker: @unchecked Sendable {
        let freed: ManagedAtomic<Int>
        init(_ freed: ManagedAtomic<Int>) { self.freed = freed }
        deinit { freed.wrappingIncrement(ordering: .relaxed) }
    }

    @Test func stopRunsOrUnwindsEveryQueuedStealableGreenlet() throws {
        let runtime = try GreenRuntime(hubs: 2)
        let started = ManagedAtomic<Int>(0)
        let unwound = ManagedAtomic<Int>(0)
        let freed = ManagedAtomic<Int>(0)
        let n = 100
        // Both hubs stuck until stop() begins: every spawn below waits in a queue.
        let stuck = try (0..<2).map { i in try Self.stickHub(i, of: runtime) { runtime.isStopped } }
        for i in 0..<n {
            let tracker = Tracker(freed)
            try runtime.spawn(on: .leastLoaded, name: "queued-\(i)") {
                _ = tracker
                started.wrappingIncrement(ordering: .relaxed)
                defer { unwound.wrappingIncrement(ordering: .relaxed) }
                try sleep(.seconds(600))
            }
        }
        runtime.stop()
        let allDead = stuck.allSatisfy { $0.isDead }
        #expect(allDead)
        #expect(started.load(ordering: .relaxed) == unwound.load(ordering: .relaxed))
        #expect(freed.load(ordering: .relaxed) == n) // every body was released: nothing leaked
    }
}
