import Glibc
import Green
import Testing

@Suite struct HubTests {
    @Test func yieldIsFairRoundRobin() throws {
        let order = try green { () -> [String] in
            let log = Log()
            let gs = ["a", "b", "c"].map { name in
                spawn { for i in 0..<3 { log.add("\(name)\(i)"); try yieldGreenlet() } }
            }
            try joinAll(gs)
            return log.lines
        }
        #expect(order == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"])
    }

    @Test func aGreenletThatNeverBlocksDoesNotStarveTimers() throws {
        let fired = try green { () -> Bool in
            var fired = false
            spawn(name: "spinner") { while !fired { try yieldGreenlet() } }
            let sleeper = spawn { try sleep(.milliseconds(5)); fired = true }
            try sleeper.join(timeout: .seconds(10))
            return fired
        }
        #expect(fired)
    }

    @Test func waitingOnWhatNothingCanWakeThrowsInsteadOfHanging() throws {
        try green {
            #expect(throws: GreenError.wouldBlockForever) { _ = try WaitList().wait() }
            let stuck = spawn { _ = try WaitList().wait() }
            #expect(throws: GreenError.wouldBlockForever) { try stuck.join() }
            try stuck.kill()
        }
    }

    @Test func negativeTimeoutsAreErrorsAndZeroDoesNotBlock() throws {
        try green {
            let g = spawn { try sleep(.seconds(30)) }
            #expect(throws: GreenError.negativeTimeout(.seconds(-1))) { try g.join(timeout: .seconds(-1)) }
            #expect(try g.join(timeout: .zero) == false)
            try g.kill()
        }
    }

    @Test func nestedTimeoutsAreToldApart() throws {
        let which = try green { () -> String in
            let outer = Timeout(.seconds(10))
            try outer.start()
            defer { outer.cancel() }
            do {
                try withTimeout(.milliseconds(10)) { try sleep(.seconds(5)) }
                return "no timeout"
            } catch let t as Timeout where t === outer {
                return "outer"
            } catch is Timeout {
                return "inner"
            }
        }
        #expect(which == "inner")
        let fallback = try green { try withTimeout(.milliseconds(5), fallback: -1) { try sleep(.seconds(5)); return 1 } }
        #expect(fallback == -1)
    }

    @Test func greenletLocalStorageIsPerGreenlet() throws {
        let values = try green { () -> [Int] in
            let local = GreenletLocal<Int>(default: 0)
            local.value = 100
            let gs = (1...3).map { i in
                spawn { () -> Int in
                    local.value = i
                    try yieldGreenlet()
                    return local.value
                }
            }
            return try gs.map { try $0.get() } + [local.value]
        }
        #expect(values == [1, 2, 3, 100])
    }

    @Test func currentNamesTheRunningGreenlet() throws {
        let names = try green { () -> [String] in
            let root = AnyGreenlet.current.name
            let g = spawn(name: "worker") { AnyGreenlet.current.name }
            return [root, try g.get()]
        }
        #expect(names == ["root", "worker"])
    }

    @Test func otherThreadsHandWorkToAHub() throws {
        let total = try green { () -> Int in
            let hub = Hub.current
            let done = WaitList()
            var total = 0
            var remaining = 4
            let keepAlive = spawn { try sleep(.seconds(30)) } // keeps the loop referenced
            var threads: [pthread_t] = []
            for t in 0..<4 {
                final class Args { let hub: Hub; let t: Int; init(_ h: Hub, _ t: Int) { hub = h; self.t = t } }
                var th = pthread_t()
                pthread_create(&th, nil, { raw in
                    let a = Unmanaged<Args>.fromOpaque(raw!).takeRetainedValue()
                    for i in 0..<250 {
                        let v = a.t * 1000 + i
                        _ = v
                        a.hub.runThreadsafe { ThreadsafeCounter.shared.add(1) }
                    }
                    a.hub.runThreadsafe { ThreadsafeCounter.shared.finishOne() }
                    return nil
                }, Unmanaged.passRetained(Args(hub, t)).toOpaque())
                threads.append(th)
            }
            ThreadsafeCounter.shared.onFinish = {
                remaining -= 1
                if remaining == 0 { total = ThreadsafeCounter.shared.value; done.wakeAll() }
            }
            _ = try done.wait(timeout: .seconds(30))
            for th in threads { pthread_join(th, nil) }
            try keepAlive.kill()
            return total
        }
        #expect(total == 1000)
    }

    @Test func aSignalReachesItsHandlerInAGreenlet() throws {
        let got = try green { () -> Bool in
            var got = false
            let handler = onSignal(SIGUSR1) { got = AnyGreenlet.current.name.hasPrefix("signal") }
            defer { handler.cancel() }
            try spawn(after: .milliseconds(5)) { kill(getpid(), SIGUSR1) }
            let deadline = ContinuousClock.now + .seconds(10)
            while !got && ContinuousClock.now < deadline { try sleep(.milliseconds(2)) }
            return got
        }
        #expect(got)
    }

    @Test func theMonitorReportsAGreenletThatDoesNotYield() throws {
        let reports = try green { () -> Int in
            let hub = Hub.current
            hub.startMonitor(threshold: .milliseconds(40))
            let hog = spawn(name: "hog") {
                let end = ContinuousClock.now + .milliseconds(400)
                while ContinuousClock.now < end {}
            }
            try hog.join()
            return hub.monitorReportCount
        }
        #expect(reports >= 1)
    }
}

/// Shared state for the cross-thread test, touched only on the hub's thread.
final class ThreadsafeCounter: @unchecked Sendable {
    static let shared = ThreadsafeCounter()
    var value = 0
    var onFinish: () -> Void = {}
    func add(_ n: Int) { value += n }
    func finishOne() { onFinish() }
}
