import Green
import Testing

@Suite struct CoordinationGroupPoolTests {
    @Test func groupSpawnJoinAndMembership() throws {
        try green { () throws in
            let group = Group()
            var done = 0
            let gs = try (1...4).map { i in try group.spawn { try sleep(.milliseconds(i)); done += 1 } }
            #expect(group.count == 4 && gs.allSatisfy { group.contains($0) })
            #expect(try group.join(timeout: .zero) == false)
            #expect(try group.join())
            #expect(done == 4 && group.isEmpty)

            let outsider = spawn { try sleep(.milliseconds(1)) }
            try group.add(outsider)
            try group.add(outsider)
            #expect(group.count == 1)
            group.discard(outsider)
            #expect(group.isEmpty)
            try outsider.join()
        }
    }

    @Test func groupKillKillsEveryMember() throws {
        try green { () throws in
            let group = Group()
            var cleaned = 0
            for _ in 0..<5 { try group.spawn { defer { cleaned += 1 }; try sleep(.seconds(30)) } }
            try settle()
            try group.kill()
            #expect(cleaned == 5)
            #expect(group.isEmpty, "killed members have left")
        }
    }

    @Test func groupJoinErrorPolicies() throws {
        try green { () throws in
            let group = Group()
            var slowFinished = false
            try group.spawn { try sleep(.milliseconds(2)); throw Boom(tag: "one") }
            try group.spawn { try sleep(.seconds(30)); slowFinished = true }
            #expect(throws: Boom(tag: "one")) { try group.join(onError: .failFast) }
            #expect(group.isEmpty, "fail fast killed the rest")
            #expect(!slowFinished)

            try group.spawn { throw Boom(tag: "a") }
            try group.spawn { try sleep(.milliseconds(1)) }
            try group.spawn { try sleep(.milliseconds(2)); throw Boom(tag: "b") }
            do {
                try group.join(onError: .collect)
                Issue.record("expected JobFailures")
            } catch let f as JobFailures {
                #expect(f.failures.compactMap { ($0.error as? Boom)?.tag } == ["a", "b"])
            }
            #expect(group.isEmpty)

            try group.spawn { throw Boom() }
            #expect(try group.join(), "by default errors stay with the greenlets")
        }
    }

    @Test func poolNeverRunsMoreThanItsSize() throws {
        let (maxRunning, spawnerBlocked) = try green { () -> (Int, Bool) in
            let pool = Pool(3)
            var running = 0, maxRunning = 0
            var rng = SplitMix(seed: 5)
            var spawnerBlocked = false
            for _ in 0..<15 {
                let d = Int.random(in: 0...3, using: &rng)
                if pool.isFull { spawnerBlocked = true }
                try pool.spawn {
                    running += 1
                    maxRunning = max(maxRunning, running)
                    defer { running -= 1 }
                    try sleep(.milliseconds(d))
                }
                #expect(pool.count <= 3)
            }
            try pool.join()
            #expect(pool.freeCount == 3 && !pool.isFull)
            return (maxRunning, spawnerBlocked)
        }
        #expect(maxRunning == 3)
        #expect(spawnerBlocked)
    }

    @Test func killedSpawnerSpawnsNothingAndSlotsStayRight() throws {
        try green { () throws in
            let pool = Pool(1)
            let blocker = try pool.spawn { try sleep(.seconds(30)) }
            var ran = false
            let spawner = spawn { try pool.spawn { ran = true } }
            try settle()
            #expect(!spawner.isDead, "blocked on the full pool")
            try spawner.kill()
            try blocker.kill()
            try pool.join()
            try sleep(.milliseconds(1))
            #expect(!ran)
            #expect(pool.freeCount == 1)
            #expect(try pool.waitAvailable(timeout: .zero))
        }
    }

    @Test func waitAvailable() throws {
        try green { () throws in
            let pool = Pool(size: 1)
            #expect(try pool.waitAvailable(timeout: .zero))
            try pool.spawn { try sleep(.milliseconds(3)) }
            #expect(try pool.waitAvailable(timeout: .zero) == false)
            #expect(try pool.waitAvailable(timeout: .seconds(10)))
        }
    }

    @Test func mapKeepsOrder() throws {
        let (pool, group) = try green { () -> ([Int], [Int]) in
            func slowSquare(_ x: Int) throws -> Int {
                try sleep(.milliseconds((20 - x) % 4))
                return x * x
            }
            let pool = try Pool(4).map(slowSquare, Array(1...20))
            let group = try Group().map(1...20) { try slowSquare($0) }
            return (pool, group)
        }
        #expect(pool == (1...20).map { $0 * $0 })
        #expect(group == (1...20).map { $0 * $0 })
    }

    @Test func imapOrderedAndUnordered() throws {
        let (ordered, unordered) = try green { () -> ([Int], [Int]) in
            let pool = Pool(3)
            let delays = [8, 1, 4, 2, 6]
            let it = pool.imap(delays) { d -> Int in try sleep(.milliseconds(d)); return d }
            var ordered: [Int] = []
            while let v = try it.next() { ordered.append(v) }
            let it2 = Group().imapUnordered(delays) { d -> Int in try sleep(.milliseconds(d * 3)); return d }
            var unordered: [Int] = []
            while let v = try it2.next() { unordered.append(v) }
            #expect(try it2.next() == nil)
            return (ordered, unordered)
        }
        #expect(ordered == [8, 1, 4, 2, 6])
        #expect(unordered.sorted() == [1, 2, 4, 6, 8])
        #expect(unordered.first == 1, "the quickest job comes first")
    }

    @Test func mapFailFastKillsTheRest() throws {
        try green { () throws in
            let pool = Pool(4)
            var started = 0, finished = 0
            #expect(throws: Boom(tag: "3")) {
                _ = try pool.map(1...8) { (i: Int) -> Int in
                    started += 1
                    if i == 3 { throw Boom(tag: "3") }
                    try sleep(.seconds(30))
                    finished += 1
                    return i
                }
            }
            #expect(finished == 0)
            #expect(started <= 5, "jobs not yet started were not started after the failure")
            #expect(pool.isEmpty && pool.freeCount == 4)
        }
    }

    @Test func mapCollectListsEveryFailureAndMapResultsKeepsThem() throws {
        try green { () throws in
            let pool = Pool(2)
            do {
                _ = try pool.map(1...6, onError: .collect) { (i: Int) -> Int in
                    try sleep(.milliseconds(1))
                    if i % 3 == 0 { throw Boom(tag: "\(i)") }
                    return i
                }
                Issue.record("expected JobFailures")
            } catch let f as JobFailures {
                #expect(f.failures.map(\.index) == [2, 5])
                #expect(f.failures.compactMap { ($0.error as? Boom)?.tag } == ["3", "6"])
            }
            let results = try pool.mapResults(1...4) { (i: Int) -> Int in
                if i == 2 { throw Boom() }
                return i * 10
            }
            #expect(results.count == 4)
            #expect((try? results[0].get()) == 10)
            #expect((try? results[1].get()) == nil)
            #expect((try? results[3].get()) == 40)
            #expect(pool.isEmpty)
        }
    }

    @Test func killedMapCallerKillsItsJobs() throws {
        try green { () throws in
            let pool = Pool(2)
            var finished = 0
            let caller = spawn {
                _ = try pool.map(1...6) { (i: Int) -> Int in
                    try sleep(.seconds(30))
                    finished += 1
                    return i
                }
            }
            try sleep(.milliseconds(2))
            #expect(pool.count == 2)
            try caller.kill()
            try pool.join(timeout: .seconds(10))
            try sleep(.milliseconds(1))
            #expect(finished == 0)
            #expect(pool.isEmpty && pool.freeCount == 2)
        }
    }
}
