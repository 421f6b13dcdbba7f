import Green
import Testing

/// The runnable examples of the seed tutorial (gevent), as tests.
@Suite struct SeedTutorialTests {
    @Test func explicitContextSwitchesInterleave() async throws {
        let lines = try await Green.run { () -> [String] in
            let log = Log()
            let foo = spawn {
                log.add("Running in foo")
                try yieldGreenlet()
                log.add("Explicit context switch to foo again")
            }
            let bar = spawn {
                log.add("Explicit context to bar")
                try yieldGreenlet()
                log.add("Implicit context switch back to bar")
            }
            try joinAll([foo, bar])
            return log.lines
        }
        #expect(lines == [
            "Running in foo", "Explicit context to bar",
            "Explicit context switch to foo again", "Implicit context switch back to bar",
        ])
    }

    @Test func asynchronousTasksTakeAboutTheLongestNotTheSum() throws {
        let (syncMs, asyncMs, done) = try green { () -> (Double, Double, Int) in
            var done = 0
            func task(_ pid: Int) throws {
                try sleep(.milliseconds(60))
                done += 1
            }
            var start = ContinuousClock.now
            for i in 1...6 { try task(i) }
            let syncMs = ms(since: start)
            start = ContinuousClock.now
            try joinAll((1...6).map { i in spawn { try task(i) } })
            return (syncMs, ms(since: start), done)
        }
        #expect(done == 12)
        #expect(syncMs >= 360)
        #expect(asyncMs >= 60)
        #expect(asyncMs < syncMs / 2, "six 60 ms sleeps in parallel must not take the sum")
    }

    @Test func spawnPatterns() throws {
        let results = try green { () -> [String] in
            let log = Log()
            func foo(_ message: String, _ n: Int) throws {
                try sleep(.milliseconds(n))
                log.add(message)
            }
            let thread1 = Greenlet { try foo("Hello", 10) }
            try thread1.start()
            let thread2 = spawn { try foo("I live!", 20) }
            let thread3 = spawn { 2 + 1 }
            try joinAll([thread1, thread2, thread3])
            return log.lines + ["\(thread3.value ?? -1)"]
        }
        #expect(results == ["Hello", "I live!", "3"])
    }

    final class MyGreenlet: Greenlet<String> {
        let message: String
        let n: Int
        init(_ message: String, _ n: Int) {
            self.message = message
            self.n = n
            super.init(name: "my-greenlet")
        }
        override func run() throws -> String {
            try sleep(.milliseconds(n))
            return message
        }
    }

    @Test func subclassOverridingRun() async throws {
        let value = try await Green.run { () -> String in
            let g = MyGreenlet("Hi there!", 5)
            #expect(!g.isStarted)
            try g.start()
            try g.join()
            #expect(g.name == "my-greenlet")
            return try g.get()
        }
        #expect(value == "Hi there!")
    }

    @Test func winnerAndLoserStates() async throws {
        try await Green.run {
            let winner = spawn { "You win!" }
            let loser = spawn { () throws -> String in throw Boom(tag: "You fail at failing.") }
            #expect(winner.isStarted && loser.isStarted)
            #expect(!winner.isReady && !loser.isReady)
            // The loser's error stays inside it: joinAll does not throw it.
            try joinAll([winner, loser])
            #expect(winner.value == "You win!")
            #expect(loser.value == nil)
            #expect(winner.isReady && loser.isReady)
            #expect(winner.isSuccessful && !loser.isSuccessful)
            #expect((loser.error as? Boom)?.tag == "You fail at failing.")
            #expect(throws: Boom(tag: "You fail at failing.")) { try loser.get() }
        }
    }

    @Test func threeWaysOfTimingOut() throws {
        let outcomes = try green { () -> [String] in
            var outcomes: [String] = []
            func wait() throws { try sleep(.seconds(2)) }

            // 1. A started Timeout raises at the next blocking call.
            let timer = try Timeout.start(.milliseconds(30))
            let thread1 = spawn { try wait() }
            do { try thread1.join() } catch let t as Timeout where t === timer { outcomes.append("Thread 1 timed out") }

            // 2. timeout: on a blocking call.
            let thread2 = spawn { try wait() }
            do { _ = try thread2.get(timeout: .milliseconds(30)) } catch is Timeout { outcomes.append("Thread 2 timed out") }

            // 3. withTimeout around a block.
            do { try withTimeout(.milliseconds(30)) { try wait() } } catch is Timeout { outcomes.append("Thread 3 timed out") }
            try killAll([thread1, thread2])
            return outcomes
        }
        #expect(outcomes == ["Thread 1 timed out", "Thread 2 timed out", "Thread 3 timed out"])
    }
}
