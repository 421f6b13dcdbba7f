import Glibc
import Green
import Testing

/// Regression tests of issue 17 for the core: how injected errors (kills,
/// timeouts) meet, links, and the thread-safe entry. The rule they check is
/// written in ARCHITECTURE.md ("Kill and link"): an injected error is never
/// silently replaced; a kill beats a timeout; an outer timeout beats an inner
/// one; a timeout cancels only its own.
@Suite struct InjectionRuleTests {
    /// #1: the kill arrives, then the victim's timeout fires before it runs.
    @Test func aKillIsNotLostToATimeoutThatFiresBeforeTheVictimRuns() throws {
        try green {
            var carriedOn = false
            let victim = spawn {
                try withTimeout(.milliseconds(30), fallback: ()) { try sleep(.seconds(5)) }
                carriedOn = true
            }
            try yieldGreenlet() // the victim parks in its sleep
            // Holds the hub past the timeout, then kills without blocking: the
            // hub sees the expired timer before the victim runs.
            spawn {
                usleep(80_000)
                try victim.kill(block: false)
            }
            try victim.join(timeout: .seconds(20))
            #expect(victim.isDead)
            #expect(!carriedOn, "the kill was replaced by the timeout and swallowed by its fallback")
            #expect(victim.error is GreenletExit)
        }
    }

    /// #2: woken by an event, killed, then its timeout fires before it runs.
    @Test func aKillIsNotClearedWhenTheTimeoutItDisplacedIsCancelled() throws {
        try green {
            let event = Event()
            var carriedOn = false
            let victim = spawn {
                _ = try withTimeout(.milliseconds(30), fallback: false) { try event.wait() }
                try yieldGreenlet() // the kill must surface here
                carriedOn = true
            }
            try yieldGreenlet()
            spawn {
                event.set()
                usleep(80_000)
                try victim.kill(block: false)
            }
            try victim.join(timeout: .seconds(20))
            #expect(victim.isDead)
            #expect(!carriedOn, "the timeout's cancel() cleared the kill as its own")
            #expect(victim.error is GreenletExit)
        }
    }

    /// #3: both timeouts expire in the same loop pass: the outer one is raised.
    @Test func anOuterTimeoutBeatsAnInnerOneExpiringInTheSamePass() throws {
        let got = try green { () -> String in
            let victim = spawn { () throws -> String in
                // The inner one is longer: libev fires expired timers in time
                // order, so the outer fires first and the inner one after it.
                try withTimeout(.milliseconds(20), fallback: "outer") {
                    try withTimeout(.milliseconds(40), fallback: "inner") {
                        try sleep(.seconds(5))
                        return "body"
                    }
                }
            }
            try yieldGreenlet()
            spawn { usleep(80_000) } // both expire while it holds the hub
            return try victim.get(timeout: .seconds(20))
        }
        #expect(got == "outer")
    }

    @Test func aKillBeatsATimeoutAndTheTimeoutIsStillRaisedIfItsScopeGoesOn() throws {
        try green {
            // The kill is caught inside the timeout's scope: the timeout that
            // fired meanwhile is not lost, it is raised at the next blocking call.
            let t = Timeout(.milliseconds(20))
            var caughtKill = false
            let victim = spawn { () throws -> String in
                try t.start()
                defer { t.cancel() }
                do {
                    do { try sleep(.seconds(5)) } catch is Boom { caughtKill = true }
                    try sleep(.seconds(5))
                    return "slept"
                } catch let e as Timeout where e === t {
                    return "timeout"
                }
            }
            try yieldGreenlet()
            spawn {
                usleep(60_000)
                try victim.kill(Boom(), block: false)
            }
            #expect(try victim.get(timeout: .seconds(20)) == "timeout")
            #expect(caughtKill)
        }
    }

    @Test func aTimeoutCancelsOnlyItsOwnError() throws {
        try green {
            // Woken by an event, then killed before it runs: the kill is pending
            // when the timeout around the wait is cancelled, and survives it.
            let event = Event()
            let me = AnyGreenlet.current
            spawn {
                event.set()
                try me.kill(Boom(), block: false)
            }
            let t = try Timeout.start(.seconds(30))
            #expect(try event.wait())
            t.cancel()
            #expect(throws: Boom()) { try yieldGreenlet() }
        }
    }

    @Test func anUntrappableKillIsThrownAtEveryBlockingCall() throws {
        try green {
            var caught = 0
            let g = spawn {
                do { try sleep(.seconds(30)) } catch { caught += 1 }
                do { try sleep(.seconds(30)) } catch { caught += 1 }
                try sleep(.seconds(30))
            }
            try yieldGreenlet()
            try g.killUntrappably(Boom(), timeout: .seconds(20))
            #expect(g.isDead)
            #expect(caught == 2)
            #expect(g.error as? Boom == Boom())
        }
    }

    /// #4: Timeout.start measures from now, not from libev's cached clock.
    @Test func aTimeoutStartedAfterLongCPUWorkMeasuresFromNow() throws {
        let completed = try green { () -> Bool in
            let g = spawn { () throws -> Bool in
                usleep(300_000) // CPU work: libev's clock is now 300 ms stale
                return try withTimeout(.milliseconds(250), fallback: false) {
                    try sleep(.milliseconds(1)) // a poll: a stale deadline would fire here
                    return true
                }
            }
            return try g.get()
        }
        #expect(completed)
    }

    /// #5: unlink reaches a callback the hub has queued but not run.
    @Test func unlinkStopsACallbackAlreadyQueuedOnTheHub() throws {
        let fired = try green { () -> [String] in
            let log = Log()
            let g = spawn { try sleep(.seconds(30)) }
            let dropped = g.link { _ in log.add("dropped") }
            g.link { _ in log.add("kept") }
            try g.kill() // never ran: its callbacks are queued at once
            g.unlink(dropped)
            let done = spawn {}
            try done.join()
            let late = done.link { _ in log.add("late-dropped") } // linked when dead
            done.unlink(late)
            try sleep(.milliseconds(1))
            return log.lines
        }
        #expect(fired == ["kept"])
    }

    /// #6: runThreadsafe says true only for work that runs.
    @Test func workAcceptedByRunThreadsafeRunsEvenWhenTheHubsThreadEnds() throws {
        final class Box: @unchecked Sendable {
            var accepted = false
            var ran = false
            var hub: Hub?
        }
        let box = Box()
        try runInNewThread {
            let hub = Hub.current
            box.hub = hub
            // The thread ends without ever letting its hub drain this.
            box.accepted = hub.runThreadsafe { box.ran = true }
        }
        #expect(box.accepted)
        #expect(box.ran, "accepted, then dropped when the hub's thread ended")
        let late = box.hub!.runThreadsafe { box.ran = false }
        #expect(!late, "a hub whose thread ended refuses work")
        #expect(box.ran)
    }

    /// A Timeout kept past the end of its thread: cancelling it must not touch the destroyed loop.
    @Test func aTimeoutOutlivingItsThreadCanBeCancelled() throws {
        let t = try runInNewThread { try Timeout.start(.seconds(30)) }
        #expect(!t.isPending)
        t.cancel()
    }
}
