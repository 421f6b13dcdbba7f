import Green
import Testing

@Suite struct CoordinationQueueTests {
    /// The seed: workers steve, john and nancy share 24 tasks.
    @Test func seedWorkersShareTwentyFourTasks() async throws {
        let (lines, taken) = try await Green.run { () -> ([String], [String: [Int]]) in
            let log = Log()
            var taken: [String: [Int]] = [:]
            let tasks = Queue<Int>()
            func worker(_ n: String) throws {
                while !tasks.isEmpty {
                    let task = try tasks.get()
                    log.add("Worker \(n) got task \(task)")
                    taken[n, default: []].append(task)
                    try sleep(.zero)
                }
                log.add("Quitting time!")
            }
            func boss() throws {
                for i in 1...24 { try tasks.putNowait(i) }
            }
            try spawn { try boss() }.join()
            try joinAll([spawn { try worker("steve") }, spawn { try worker("john") }, spawn { try worker("nancy") }])
            return (log.lines, taken)
        }
        let all = taken.values.flatMap { $0 }
        #expect(all.sorted() == Array(1...24), "each task taken exactly once")
        #expect(taken.keys.sorted() == ["john", "nancy", "steve"], "all three workers got work")
        #expect(taken["steve"]!.first == 1 && taken["john"]!.first == 2 && taken["nancy"]!.first == 3)
        #expect(lines.filter { $0 == "Quitting time!" }.count == 3)
        #expect(lines.first == "Worker steve got task 1")
    }

    /// The seed: a boss fills a queue of maxSize 3 while three workers take
    /// with a timeout until Empty ("Quitting time!").
    @Test func seedBossFillsBoundedQueueUntilQuittingTime() async throws {
        let (lines, taken, maxSeen) = try await Green.run { () -> ([String], [Int], Int) in
            let log = Log()
            var taken: [Int] = []
            var maxSeen = 0
            let tasks = Queue<Int>(maxSize: 3)
            func worker(_ n: String) throws {
                do {
                    while true {
                        let task = try tasks.get(timeout: .milliseconds(200))
                        log.add("Worker \(n) got task \(task)")
                        taken.append(task)
                        try sleep(.zero)
                    }
                } catch QueueError.empty {
                    log.add("Quitting time!")
                }
            }
            func boss() throws {
                for i in 1..<10 {
                    try tasks.put(i)
                    maxSeen = max(maxSeen, tasks.count)
                }
                log.add("Assigned all work in iteration 1")
                for i in 10..<20 {
                    try tasks.put(i)
                    maxSeen = max(maxSeen, tasks.count)
                }
                log.add("Assigned all work in iteration 2")
            }
            try joinAll([
                spawn { try boss() },
                spawn { try worker("steve") },
                spawn { try worker("john") },
                spawn { try worker("bob") },
            ])
            return (log.lines, taken, maxSeen)
        }
        #expect(taken == Array(1..<20), "every task once, in FIFO order")
        #expect(maxSeen <= 3)
        #expect(lines.filter { $0 == "Quitting time!" }.count == 3)
        let i1 = lines.firstIndex(of: "Assigned all work in iteration 1")
        let i2 = lines.firstIndex(of: "Assigned all work in iteration 2")
        #expect(i1 != nil && i2 != nil && i1! < i2!)
        #expect(lines.suffix(3) == ["Quitting time!", "Quitting time!", "Quitting time!"])
    }

    @Test func nowaitAndTimeouts() throws {
        try green { () throws in
            let q = Queue<Int>(maxSize: 2)
            #expect(q.isEmpty && !q.isFull && q.count == 0 && q.peek() == nil)
            #expect(throws: QueueError.empty) { try q.getNowait() }
            #expect(throws: QueueError.empty) { try q.get(timeout: .zero) }
            #expect(throws: QueueError.empty) { try q.get(timeout: .milliseconds(2)) }
            try q.putNowait(1)
            try q.put(2, timeout: .zero)
            #expect(q.isFull && q.count == 2 && q.peek() == 1)
            #expect(throws: QueueError.full) { try q.putNowait(3) }
            #expect(throws: QueueError.full) { try q.put(3, timeout: .milliseconds(2)) }
            #expect(q.count == 2, "a refused put adds nothing")
            #expect(throws: GreenError.negativeTimeout(.seconds(-1))) { try q.put(3, timeout: .seconds(-1)) }
            #expect(throws: GreenError.negativeTimeout(.seconds(-1))) { try q.get(timeout: .seconds(-1)) }
            #expect(try q.getNowait() == 1)
            #expect(try q.get() == 2)
            #expect(q.isEmpty)
            #expect(throws: GreenError.wouldBlockForever) { try q.get() }
        }
    }

    @Test func blockedGettersAreServedInArrivalOrder() throws {
        let got = try green { () -> [String] in
            let q = Queue<Int>()
            var got: [String] = []
            let names = ["a", "b", "c", "d", "e"]
            let gs = names.map { n in spawn { got.append("\(n)\(try q.get())") } }
            try settle()
            for i in 1...5 { try q.put(i) }
            try joinAll(gs)
            return got
        }
        #expect(got == ["a1", "b2", "c3", "d4", "e5"])
    }

    @Test func anItemPutForAWaitingGetterCannotBeTakenByALateComer() throws {
        try green { () throws in
            let q = Queue<Int>()
            let waiter = spawn { try q.get() }
            try settle()
            try q.put(1)
            #expect(throws: QueueError.empty, "the item already belongs to the waiter") { try q.getNowait() }
            #expect(try waiter.get() == 1)
        }
    }

    @Test func blockedPuttersAreServedInArrivalOrder() throws {
        let got = try green { () -> [Int] in
            let q = Queue<Int>(maxSize: 1)
            try q.put(0)
            let ps = (1...4).map { i in spawn { try q.put(i) } }
            try settle()
            var got: [Int] = []
            for _ in 0...4 { got.append(try q.get()) }
            try joinAll(ps)
            #expect(ps.allSatisfy { $0.isSuccessful })
            return got
        }
        #expect(got == [0, 1, 2, 3, 4])
    }

    @Test func closeDrainsThenFails() throws {
        try green { () throws in
            let q = Queue<Int>()
            for i in 1...3 { try q.put(i) }
            q.close()
            q.close()
            #expect(q.isClosed)
            #expect(throws: QueueError.closed) { try q.put(4) }
            #expect(throws: QueueError.closed) { try q.putNowait(4) }
            #expect(try q.get() == 1)
            #expect(Array(q) == [2, 3], "iteration drains what is left, then ends")
            #expect(throws: QueueError.closed) { try q.get() }
            #expect(throws: QueueError.closed) { try q.getNowait() }
            #expect(try q.nextItem() == nil)
        }
    }

    @Test func closeWakesBlockedGettersAndPutters() throws {
        try green { () throws in
            let empty = Queue<Int>()
            let getter = spawn { try empty.get() }
            let full = Queue<Int>(maxSize: 1)
            try full.put(1)
            let putter = spawn { try full.put(2) }
            try settle()
            empty.close()
            full.close()
            #expect(throws: QueueError.closed) { try getter.get() }
            #expect(throws: QueueError.closed) { try putter.get() }
            #expect(try full.get() == 1)
            #expect(throws: QueueError.closed, "the blocked putter's item was not added") { try full.get() }
        }
    }

    @Test func forInEndsWhenTheProducerCloses() throws {
        let got = try green { () -> [Int] in
            let q = Queue<Int>(maxSize: 2)
            spawn {
                for i in 1...10 { try q.put(i) }
                q.close()
            }
            var got: [Int] = []
            for item in q { got.append(item) }
            return got
        }
        #expect(got == Array(1...10))
    }

    @Test func killedGetterTakesNothing() throws {
        try green { () throws in
            let q = Queue<Int>()
            var gotA: [Int] = []
            var gotB: [Int] = []
            let a = spawn { gotA.append(try q.get()) }
            let b = spawn { gotB.append(try q.get()) }
            try settle()
            try a.kill()
            try q.put(5)
            try b.join()
            #expect(gotA.isEmpty && gotB == [5] && q.isEmpty)
        }
    }

    @Test func getterWokenThenKilledBeforeRunningKeepsItsItem() throws {
        try green { () throws in
            let q = Queue<Int>()
            var got: [Int] = []
            var reachedEnd = false
            let g = spawn {
                got.append(try q.get())
                try sleep(.seconds(10))  // the kill is thrown here
                reachedEnd = true
            }
            try settle()
            try q.put(7)   // handed to g, which has not run yet
            try g.kill()
            #expect(got == [7], "delivered once, not lost")
            #expect(q.isEmpty, "and not left in the queue")
            #expect(!reachedEnd && g.isDead)
        }
    }

    @Test func killedPutterAddsNothingAndServedPutterAddsOnce() throws {
        try green { () throws in
            let q = Queue<Int>(maxSize: 1)
            try q.put(1)
            let killed = spawn { try q.put(2) }
            try settle()
            try killed.kill()
            #expect(try q.get() == 1)
            #expect(throws: QueueError.empty, "the killed putter's item is not there") { try q.getNowait() }

            try q.put(10)
            var putReturned = false
            let served = spawn {
                try q.put(11)
                putReturned = true
                try sleep(.seconds(10))
            }
            try settle()
            #expect(try q.get() == 10)   // moves 11 in, wakes `served`
            try served.kill()
            #expect(putReturned)
            #expect(try q.getNowait() == 11)
            #expect(q.isEmpty)
        }
    }

    @Test func timedOutGetterLeavesAndTheNextGetsTheItem() throws {
        try green { () throws in
            let q = Queue<Int>()
            let impatient = spawn { try q.get(timeout: .milliseconds(5)) }
            let patient = spawn { try q.get() }
            #expect(throws: QueueError.empty) { try impatient.get() }
            try q.put(3)
            #expect(try patient.get() == 3)
        }
    }

    /// Many producers and consumers, random kills: every item is either
    /// delivered once, still in the queue, or refused to its producer.
    @Test func randomKillsLoseNothingAndDuplicateNothing() throws {
        for seed in [1, 2, 3, 4] as [UInt64] {
            try green { () throws in
                var rng = SplitMix(seed: seed)
                let q = Queue<Int>(maxSize: 3)
                var accepted: [Int] = []
                var refused: [Int] = []
                var delivered: [Int] = []
                var next = 0
                var everyone: [AnyGreenlet] = []
                for _ in 0..<6 {
                    everyone.append(spawn {
                        for _ in 0..<20 {
                            next += 1
                            let item = next
                            do { try q.put(item); accepted.append(item) } catch { refused.append(item); throw error }
                        }
                    })
                    everyone.append(spawn {
                        while true {
                            delivered.append(try q.get(timeout: .milliseconds(200)))
                            if Int.random(in: 0..<4, using: &rng) == 0 { try yieldGreenlet() }
                        }
                    })
                }
                for _ in 0..<40 {
                    try yieldGreenlet()
                    let victim = everyone[Int.random(in: 0..<everyone.count, using: &rng)]
                    try victim.kill(block: false)
                }
                try killAll(everyone)
                var left: [Int] = []
                while let x = try? q.getNowait() { left.append(x) }
                #expect((delivered + left).sorted() == accepted.sorted(), "seed \(seed)")
                #expect(Set(delivered).count == delivered.count)
                #expect(Set(refused).isDisjoint(with: delivered + left))
            }
        }
    }

    @Test func lifoQueueReturnsNewestFirst() throws {
        try green { () throws in
            let q = LifoQueue<Int>(maxSize: 3)
            for i in 1...3 { try q.put(i) }
            #expect(q.isFull && q.peek() == 3)
            #expect(throws: QueueError.full) { try q.putNowait(4) }
            #expect(try q.get() == 3)
            try q.put(4)
            let three = [try q.get(), try q.get(), try q.get()]
            #expect(three == [4, 2, 1])
            let waiter = spawn { try q.get() }
            try settle()
            try q.put(9)
            #expect(try waiter.get() == 9)
            q.close()
            #expect(throws: QueueError.closed) { try q.get() }
        }
    }

    struct Job: Comparable {
        var priority: Int
        var name: String
        static func < (a: Job, b: Job) -> Bool { a.priority < b.priority }
        static func == (a: Job, b: Job) -> Bool { a.priority == b.priority }
    }

    @Test func priorityQueueReturnsSmallestFirstAndEqualsInPutOrder() throws {
        let names = try green { () -> [String] in
            let q = PriorityQueue<Job>()
            for (p, n) in [(3, "c"), (1, "a1"), (2, "b"), (1, "a2"), (0, "z"), (1, "a3")] {
                try q.put(Job(priority: p, name: n))
            }
            #expect(q.peek()?.name == "z")
            q.close()
            return q.map { $0.name }
        }
        #expect(names == ["z", "a1", "a2", "a3", "b", "c"])
    }

    @Test func priorityQueueBlocksWhenFullLikeQueue() throws {
        try green { () throws in
            let q = PriorityQueue<Int>(maxSize: 2)
            try q.put(5)
            try q.put(1)
            let putter = spawn { try q.put(0) }
            try settle()
            #expect(!putter.isDead)
            #expect(try q.get() == 1)
            try putter.join()
            #expect(try q.get() == 0)
            #expect(try q.get() == 5)
        }
    }

    @Test func joinableQueueJoinWaitsForEveryTaskDone() throws {
        try green { () throws in
            let q = JoinableQueue<Int>()
            #expect(try q.join(timeout: .zero))
            var processed: [Int] = []
            for _ in 0..<3 {
                spawn {
                    while let item = try q.nextItem() {
                        try sleep(.milliseconds(1))
                        processed.append(item)
                        try q.taskDone()
                    }
                }
            }
            for i in 1...9 { try q.put(i) }
            #expect(q.unfinished == 9)
            #expect(try q.join(timeout: .zero) == false)
            try q.join()
            #expect(processed.sorted() == Array(1...9))
            #expect(q.unfinished == 0)
            #expect(throws: CoordinationError.taskDoneTooOften) { try q.taskDone() }
            q.close()
        }
    }

    @Test func joinableQueueKilledJoinerLeavesNoTrace() throws {
        try green { () throws in
            let q = JoinableQueue<Int>()
            try q.put(1)
            let a = spawn { try q.join() }
            let b = spawn { try q.join() }
            try settle()
            try a.kill()
            _ = try q.get()
            try q.taskDone()
            #expect(try b.join(timeout: .seconds(5)))
            #expect(b.isSuccessful)
        }
    }
}
