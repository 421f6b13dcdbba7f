import Glibc
import Green
import Testing

@Suite struct KillAndLinkTests {
    @Test func killWhileSleepingRunsDefersAndEndsCleanly() throws {
        try green {
            var cleanedUp = false
            var reachedEnd = false
            let g = spawn {
                defer { cleanedUp = true }
                try sleep(.seconds(30))
                reachedEnd = true
            }
            try yieldGreenlet()
            try g.kill()
            #expect(g.isReady)
            #expect(cleanedUp)
            #expect(!reachedEnd)
            #expect(g.isSuccessful, "GreenletExit is a clean exit")
            #expect(g.error is GreenletExit)
        }
    }

    @Test func killWithCustomErrorRecordsIt() throws {
        try green {
            let g = spawn { try sleep(.seconds(30)) }
            try yieldGreenlet()
            try g.kill(Boom())
            #expect(!g.isSuccessful)
            #expect(g.error as? Boom == Boom())
        }
    }

    @Test func killWhileWaitingOnAFileDescriptor() throws {
        try green {
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            defer { close(fds[0]); close(fds[1]) }
            var cleanedUp = false
            let reader = spawn {
                defer { cleanedUp = true }
                _ = try Hub.current.wait(fd: fds[0], for: .read)
            }
            try yieldGreenlet()
            #expect(!reader.isReady)
            try reader.kill()
            #expect(reader.isReady && cleanedUp)
        }
    }

    @Test func waitingOnAFileDescriptorWakesWhenReadable() throws {
        let got = try green { () -> Bool in
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            defer { close(fds[0]); close(fds[1]) }
            let reader = spawn { try Hub.current.wait(fd: fds[0], for: .read, timeout: .seconds(10)) }
            try spawn(after: .milliseconds(10)) { var b: UInt8 = 1; _ = write(fds[1], &b, 1) }
            let timedOut = try Hub.current.wait(fd: fds[0], for: .read, timeout: .milliseconds(1)) == false
            #expect(timedOut)
            return try reader.get()
        }
        #expect(got)
    }

    @Test func killBeforeStartNeverRunsTheBody() throws {
        try green {
            var ran = false
            let g = spawn { ran = true }
            try g.kill()
            #expect(g.isReady)
            try yieldGreenlet()
            try sleep(.milliseconds(1))
            #expect(!ran)
            let delayed = try spawn(after: .milliseconds(5)) { ran = true }
            try delayed.kill()
            try sleep(.milliseconds(20))
            #expect(!ran && delayed.isReady)
        }
    }

    @Test func killingADeadGreenletIsANoOp() throws {
        try green {
            let g = spawn { 42 }
            try g.join()
            try g.kill(Boom())
            #expect(g.isSuccessful)
            #expect(try g.get() == 42)
        }
    }

    @Test func killAllAndThrow() throws {
        try green {
            let gs = (0..<10).map { _ in spawn { try sleep(.seconds(30)) } }
            try yieldGreenlet()
            try killAll(gs)
            #expect(gs.allSatisfy { $0.isReady })
            let victim = spawn { () throws -> Int in
                do { try sleep(.seconds(30)) } catch let b as Boom { return b.tag.count }
                return 0
            }
            try yieldGreenlet()
            try victim.throw(Boom(tag: "abc"))
            #expect(try victim.get() == 3)
        }
    }

    @Test func linkCallbacksRunOnTheHubAfterTheGreenletEnds() throws {
        try green {
            let log = Log()
            let g = spawn { () -> Int in log.add("body"); return 1 }
            g.link { done in log.add("link \(done.isReady) current-is-g=\(AnyGreenlet.current === done)") }
            g.linkValue { _ in log.add("value") }
            g.linkError { _, _ in log.add("error") }
            try g.join()
            try yieldGreenlet()
            try sleep(.milliseconds(1))
            #expect(log.lines == ["body", "link true current-is-g=false", "value"])

            let failing = spawn { () throws -> Void in throw Boom() }
            var seen: (any Error)?
            failing.linkError { _, e in seen = e }
            try failing.join()
            try sleep(.milliseconds(1))
            #expect(seen as? Boom == Boom())
        }
    }

    @Test func anUnlinkedCallbackNeverRuns() throws {
        let fired = try green { () -> [String] in
            let log = Log()
            let g = spawn { try sleep(.milliseconds(2)) }
            let kept = g.link { _ in log.add("kept") }
            let dropped = g.link { _ in log.add("dropped") }
            g.unlink(dropped)
            #expect(kept != dropped)
            try g.join()
            try sleep(.milliseconds(1))
            return log.lines
        }
        #expect(fired == ["kept"])
    }

    @Test func linkedFailureIsInjectedIntoThePeer() throws {
        try green {
            let watcher = spawn { try sleep(.seconds(30)) }
            let failing = spawn(name: "crasher") { () throws -> Void in
                try sleep(.milliseconds(5))
                throw Boom()
            }
            failing.linkFailure(to: watcher)
            let clean = spawn { try sleep(.milliseconds(1)) }
            let survivor = spawn { try sleep(.milliseconds(50)) }
            clean.linkFailure(to: survivor)
            try watcher.join(timeout: .seconds(10))
            let failure = watcher.error as? LinkedFailure
            #expect(failure?.peer == "crasher")
            #expect(failure?.reason as? Boom == Boom())
            try survivor.join()
            #expect(survivor.isSuccessful, "a clean exit does not kill linked peers")
        }
    }

    /// What the hub owns: its stack pool stays at its cap, stacks beyond it are unmapped.
    @Test func spawnKillCyclesKeepThePoolAtItsCap() throws {
        try green {
            let hub = Hub.current
            for _ in 0..<10 {
                var batch: [Greenlet<Void>] = []
                for _ in 0..<2000 { batch.append(spawn { try sleep(.seconds(30)) }) }
                try yieldGreenlet() // every one starts, takes a stack and parks
                try killAll(batch)
            }
            #expect(hub.pooledStackCount == hub.stackPoolCapacity)
            #expect(hub.mappedStackCount == hub.stackPoolCapacity + hub.freshStackCount + hub.surplusStackCount + 1,
                    "stacks beyond the cap are unmapped (+1: the hub's own; fresh: mapped ahead in a slab; surplus: unmapped in batches)")
            #expect(hub.surplusStackCount < 256)
            #expect(hub.freshStackCount < 64)
        }
    }

    /// Resident memory is the whole process's: measured in a child process of its own.
    @Test(.disabled(if: runningUnderAddressSanitizer, "AddressSanitizer's quarantine holds freed memory"))
    func hundredThousandSpawnKillCyclesKeepMemoryFlat() throws {
        let r = try runChild(["spawn-kill-memory"])
        #expect(r.reason == .exit && r.status == 0, "stderr: \(r.stderr)")
        let fields = Dictionary(uniqueKeysWithValues: r.stdout.split(whereSeparator: \.isWhitespace).compactMap { token -> (String, Int)? in
            let kv = token.split(separator: "=")
            guard kv.count == 2, let v = Int(kv[1]) else { return nil }
            return (String(kv[0]), v)
        })
        let growth = try #require(fields["growth"], "output: \(r.stdout)")
        #expect(growth < 16 << 20, "resident memory grew by \(growth) bytes over 90,000 cycles")
        #expect(fields["pooled"] != nil && fields["pooled"] == fields["cap"])
    }
}
