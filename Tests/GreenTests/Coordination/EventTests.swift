import Green
import Testing

@Suite struct CoordinationEventTests {
    /// The seed's Event example: one setter, several waiters.
    @Test func seedSetterAndWaiters() async throws {
        let lines = try await Green.run { () -> [String] in
            let log = Log()
            let evt = Event()
            func setter() throws {
                log.add("A: Hey wait for me, I have to do something")
                try sleep(.milliseconds(20))
                log.add("Ok, I'm done")
                evt.set()
            }
            func waiter() throws {
                log.add("I'll wait for you")
                try evt.wait()
                log.add("Finish waiting")
            }
            try joinAll([spawn { try setter() }] + (0..<5).map { _ in spawn { try waiter() } })
            return log.lines
        }
        #expect(lines == ["A: Hey wait for me, I have to do something"]
            + Array(repeating: "I'll wait for you", count: 5)
            + ["Ok, I'm done"]
            + Array(repeating: "Finish waiting", count: 5))
    }

    @Test func setClearAndTimeouts() throws {
        try green { () throws in
            let e = Event()
            #expect(!e.isSet)
            #expect(try e.wait(timeout: .zero) == false)
            #expect(try e.wait(timeout: .milliseconds(5)) == false)
            #expect(throws: GreenError.negativeTimeout(.milliseconds(-1))) { try e.wait(timeout: .milliseconds(-1)) }
            e.set()
            #expect(e.isSet)
            #expect(try e.wait(timeout: .zero))
            #expect(try e.wait())
            e.clear()
            #expect(!e.isSet)
            #expect(try e.wait(timeout: .zero) == false)
            #expect(Event(isSet: true).isSet)
        }
    }

    @Test func waiterWokenBySetReturnsTrueEvenIfClearedBeforeItRuns() throws {
        let woke = try green { () -> Bool in
            let e = Event()
            let w = spawn { try e.wait(timeout: .seconds(10)) }
            try settle()
            e.set()
            e.clear()
            return try w.get()
        }
        #expect(woke)
    }

    @Test func waitingForeverWithNothingToWakeThrows() throws {
        try green { () throws in
            let e = Event()
            #expect(throws: GreenError.wouldBlockForever) { try e.wait() }
        }
    }

    @Test func killedWaiterLeavesNoTrace() throws {
        try green { () throws in
            let e = Event()
            var woken: [String] = []
            let a = spawn { try e.wait(); woken.append("a") }
            let b = spawn { try e.wait(); woken.append("b") }
            try settle()
            try a.kill()
            #expect(a.isDead && a.isSuccessful)
            e.set()
            try b.join()
            #expect(woken == ["b"])
        }
    }

    /// The seed's AsyncResult example.
    @Test func seedAsyncResultSetterAndWaiter() async throws {
        let lines = try await Green.run { () -> [String] in
            let log = Log()
            let a = AsyncResult<String>()
            let setter = spawn {
                try sleep(.milliseconds(20))
                try a.set("Hello!")
            }
            let waiter = spawn { log.add(try a.get()) }
            try joinAll([setter, waiter])
            return log.lines
        }
        #expect(lines == ["Hello!"])
    }

    @Test func asyncResultStatesAndSecondSet() throws {
        try green { () throws in
            let r = AsyncResult<Int>()
            #expect(!r.isReady && !r.isSuccessful && r.value == nil && r.error == nil)
            #expect(try r.wait(timeout: .zero) == false)
            #expect(throws: Timeout.self) { try r.get(timeout: .milliseconds(2)) }
            #expect(throws: Timeout.self) { try r.getNowait() }
            try r.set(42)
            #expect(r.isReady && r.isSuccessful && r.value == 42)
            #expect(try r.get() == 42)
            #expect(try r.getNowait() == 42)
            #expect(throws: CoordinationError.alreadySet) { try r.set(43) }
            #expect(throws: CoordinationError.alreadySet) { try r.set(error: Boom()) }
            #expect(try r.get() == 42, "a refused second set changes nothing")

            let f = AsyncResult<Int>()
            try f.set(error: Boom(tag: "bad"))
            #expect(f.isReady && !f.isSuccessful && f.value == nil)
            #expect(f.error as? Boom == Boom(tag: "bad"))
            #expect(throws: Boom(tag: "bad")) { try f.get() }
            #expect(try f.wait(), "wait does not throw the result's error")

            let g = AsyncResult<Int>()
            try g.set { throw Boom() }
            #expect(throws: Boom()) { try g.get() }
            #expect(throws: CoordinationError.alreadySet) { try g.set { 1 } }
        }
    }

    @Test func asyncResultWakesEveryWaiterAndKilledOnesLeave() throws {
        let got = try green { () -> [Int] in
            let r = AsyncResult<Int>()
            var got: [Int] = []
            let waiters = (0..<4).map { _ in spawn { got.append(try r.get()) } }
            try settle()
            try waiters[1].kill()
            try r.set(7)
            try joinAll(waiters)
            return got
        }
        #expect(got == [7, 7, 7])
    }
}
