import Atomics
import Foundation
import Glibc
import Green
import Testing

/// A hub's thread-safe entry (`runThreadsafe`, `submit`) has no lock and wakes
/// its hub only when the hub may be asleep: work accepted while the hub ends
/// still runs, refused work never does, and a hub going to sleep as work
/// arrives is not left asleep. "CrossHub" in the name: CI's ThreadSanitizer
/// step runs it.
@Suite struct CrossHubEntryTests {
    /// Two threads submit to hub 1 while a third stops the runtime: every
    /// submit that returned true ran, none that returned false did.
    @Test func workSubmittedWhileAHubEndsRunsExactlyWhenAccepted() throws {
        for _ in 0..<20 {
            let runtime = try GreenRuntime(hubs: 2)
            let hub = runtime.hubs[1]
            let accepted = ManagedAtomic<Int>(0)
            let ran = ManagedAtomic<Int>(0)
            let done = DispatchSemaphore(value: 0)
            let submitters = 2
            for _ in 0..<submitters {
                Thread {
                    for _ in 0..<50_000 {
                        guard hub.runThreadsafe({ ran.wrappingIncrement(ordering: .relaxed) }) else { break }
                        accepted.wrappingIncrement(ordering: .relaxed)
                    }
                    done.signal()
                }.start()
            }
            while accepted.load(ordering: .relaxed) < 500 { sched_yield() }
            runtime.stop()
            for _ in 0..<submitters { done.wait() }
            #expect(!hub.runThreadsafe {}, "a stopped hub refuses work")
            #expect(ran.load(ordering: .relaxed) == accepted.load(ordering: .relaxed),
                    "accepted work ran, refused work did not")
        }
    }

    /// Work sent at every moment of a hub's way to sleep (spinning, about to
    /// sleep, asleep in epoll) runs: the wake-up is never lost. The wait's
    /// limit only turns a lost wake-up into a failure instead of a hang.
    @Test func aHubGoingToSleepAsWorkArrivesRunsIt() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        let hub = runtime.hubs[1]
        let ran = DispatchSemaphore(value: 0)
        var lost = 0
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3_000 {
            // A pause of 0 to ~100 µs: the hub spins for 50 µs (500 µs after
            // work from another thread) before it sleeps.
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let pause = Int(state >> 33) % 100_000
            if pause > 1_000 { usleep(UInt32(pause / 1_000)) }
            #expect(hub.runThreadsafe { ran.signal() })
            if ran.wait(timeout: .now() + 10) == .timedOut { lost += 1; break }
        }
        #expect(lost == 0, "a submit to a hub going to sleep woke it")
    }
}
