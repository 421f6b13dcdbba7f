import Green
import Testing

@Suite struct CoordinationChannelTests {
    @Test func putWaitsForAGetter() async throws {
        let log = try await Green.run { () -> [String] in
            let log = Log()
            let ch = Channel<String>()
            let putter = spawn {
                log.add("put start")
                try ch.put("ping")
                log.add("put done")
            }
            try settle()
            #expect(!putter.isDead, "nobody took it yet")
            #expect(ch.waitingPutters == 1)
            log.add("get \(try ch.get())")
            try putter.join()
            return log.lines
        }
        #expect(log == ["put start", "get ping", "put done"])
    }

    @Test func nowaitNeedsAPartner() throws {
        try green { () throws in
            let ch = Channel<Int>()
            #expect(throws: QueueError.full) { try ch.putNowait(1) }
            #expect(throws: QueueError.empty) { try ch.getNowait() }
            #expect(throws: QueueError.full) { try ch.put(1, timeout: .milliseconds(2)) }
            #expect(throws: QueueError.empty) { try ch.get(timeout: .milliseconds(2)) }
            #expect(throws: GreenError.negativeTimeout(.milliseconds(-3))) { try ch.get(timeout: .milliseconds(-3)) }
            let getter = spawn { try ch.get() }
            try settle()
            #expect(ch.waitingGetters == 1)
            try ch.putNowait(5)
            #expect(try getter.get() == 5)
        }
    }

    @Test func gettersAndPuttersAreServedInOrder() async throws {
        let got = try await Green.run { () -> [String] in
            let ch = Channel<Int>()
            var got: [String] = []
            let getters = ["a", "b", "c"].map { n in spawn { got.append("\(n)\(try ch.get())") } }
            try settle()
            for i in 1...3 { try ch.put(i) }
            try joinAll(getters)
            let putters = (4...6).map { i in spawn { try ch.put(i) } }
            try settle()
            for _ in 0..<3 { got.append("main\(try ch.get())") }
            try joinAll(putters)
            return got
        }
        #expect(got == ["a1", "b2", "c3", "main4", "main5", "main6"])
    }

    @Test func closeEndsIterationAndFailsBlockedPartners() throws {
        try green { () throws in
            let ch = Channel<Int>()
            spawn {
                for i in 1...5 { try ch.put(i) }
                ch.close()
            }
            #expect(Array(ch) == [1, 2, 3, 4, 5])
            #expect(ch.isClosed)
            #expect(throws: QueueError.closed) { try ch.put(1) }
            #expect(throws: QueueError.closed) { try ch.get() }

            let ch2 = Channel<Int>()
            let putter = spawn { try ch2.put(1) }
            try settle()
            ch2.close()
            #expect(throws: QueueError.closed) { try putter.get() }
            #expect(throws: QueueError.closed, "the blocked put was not delivered") { try ch2.getNowait() }
        }
    }

    @Test func killedPartnersLeaveNoTrace() throws {
        try green { () throws in
            let ch = Channel<Int>()
            // A putter killed while blocked delivers nothing.
            let p1 = spawn { try ch.put(1) }
            let p2 = spawn { try ch.put(2) }
            try settle()
            try p1.kill()
            #expect(try ch.get() == 2)
            #expect(throws: QueueError.empty) { try ch.getNowait() }
            try p2.join()

            // A getter killed while blocked takes nothing.
            var gotA: [Int] = []
            let a = spawn { gotA.append(try ch.get()) }
            let b = spawn { try ch.get() }
            try settle()
            try a.kill()
            try ch.put(3)
            #expect(try b.get() == 3 && gotA.isEmpty)

            // A getter woken and then killed before it ran keeps the item.
            var gotC: [Int] = []
            let c = spawn {
                gotC.append(try ch.get())
                try sleep(.seconds(10))
            }
            try settle()
            try ch.put(4)
            try c.kill()
            #expect(gotC == [4])
        }
    }

    @Test func randomKillsLoseNothingAndDuplicateNothing() throws {
        for seed in [7, 8, 9] as [UInt64] {
            try green { () throws in
                var rng = SplitMix(seed: seed)
                let ch = Channel<Int>()
                var accepted: [Int] = []
                var delivered: [Int] = []
                var next = 0
                var everyone: [AnyGreenlet] = []
                for _ in 0..<5 {
                    everyone.append(spawn {
                        while true {
                            next += 1
                            let item = next
                            try ch.put(item)
                            accepted.append(item)
                        }
                    })
                    everyone.append(spawn {
                        while true { delivered.append(try ch.get()) }
                    })
                }
                for _ in 0..<40 {
                    try yieldGreenlet()
                    try everyone[Int.random(in: 0..<everyone.count, using: &rng)].kill(block: false)
                }
                try killAll(everyone)
                #expect(delivered.sorted() == accepted.sorted(), "seed \(seed)")
                #expect(Set(delivered).count == delivered.count)
            }
        }
    }
}
