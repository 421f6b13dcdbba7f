import Foundation
import Green
import Testing

@Suite struct IOThreadPoolTests {
    @Test func aBlockingCallInThePoolLetsOtherGreenletsRun() throws {
        try green { () throws -> Void in
            let pool = ThreadPool(maxThreads: 2)
            defer { pool.shutdown() }
            // The job blocks its OS thread until a greenlet of this hub releases
            // it: it can only finish if the hub keeps running greenlets meanwhile.
            let released = DispatchSemaphore(value: 0)
            var ticks = 0
            let ticker = spawn {
                for _ in 0..<3 { ticks += 1; try sleep(.milliseconds(1)) }
                released.signal()
            }
            let got = try pool.run { () -> String in
                released.wait(timeout: .now() + 30) == .success ? "released by a greenlet" : "hub was blocked"
            }
            #expect(got == "released by a greenlet")
            #expect(ticks == 3)
            try ticker.join()
        }
    }

    @Test func resultsAndErrorsComeBack() throws {
        try green { () throws -> Void in
            let pool = ThreadPool(maxThreads: 3)
            defer { pool.shutdown() }
            #expect(try pool.run { 6 * 7 } == 42)
            #expect(throws: Boom()) { try pool.run { () -> Int in throw Boom() } }
            // More jobs than threads, from many greenlets at once.
            let gs = (0..<20).map { i in spawn { try pool.run { () -> Int in usleep(1000); return i * i } } }
            for (i, g) in gs.enumerated() { #expect(try g.get() == i * i) }
            #expect(pool.threadCount <= 3)
        }
    }

    @Test func aPoolJobKeepsTheHubAliveAndATimeoutLetsGo() throws {
        try green { () throws -> Void in
            let pool = ThreadPool(maxThreads: 1)
            defer { pool.shutdown() }
            // Nothing but the job: the root waits on it without wouldBlockForever.
            #expect(try pool.run { () -> Int in usleep(20_000); return 1 } == 1)
            let gate = DispatchSemaphore(value: 0)
            #expect(throws: SocketError.timedOut) {
                try pool.run(timeout: .milliseconds(10)) { _ = gate.wait(timeout: .now() + 30) }
            }
            gate.signal()
            // The pool is still usable after the abandoned job ends.
            #expect(try pool.run { 5 } == 5)
        }
    }

    @Test func aKilledWaiterLeavesTheJobToFinish() throws {
        try green { () throws -> Void in
            let pool = ThreadPool(maxThreads: 1)
            defer { pool.shutdown() }
            let gate = DispatchSemaphore(value: 0)
            let g = spawn { try pool.run { _ = gate.wait(timeout: .now() + 30) } }
            try yieldGreenlet()
            try g.kill()
            #expect(g.isDead)
            gate.signal()
            #expect(try pool.run { "next" } == "next")
        }
    }
}
