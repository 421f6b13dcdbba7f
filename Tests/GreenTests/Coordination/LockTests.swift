import Green
import Testing

@Suite struct CoordinationLockTests {
    @Test func lockExcludesAndHandsOverInOrder() throws {
        let log = try green { () -> [String] in
            let lock = Lock()
            let log = Log()
            var inside = 0
            let gs = ["a", "b", "c"].map { n in
                spawn {
                    try lock.withLock {
                        inside += 1
                        #expect(inside == 1)
                        log.add("\(n) in")
                        try sleep(.milliseconds(1))
                        log.add("\(n) out")
                        inside -= 1
                    }
                }
            }
            try joinAll(gs)
            #expect(!lock.isLocked)
            return log.lines
        }
        #expect(log == ["a in", "a out", "b in", "b out", "c in", "c out"])
    }

    @Test func lockTimeoutsAndMisuse() throws {
        try green { () throws in
            let lock = Lock()
            #expect(throws: CoordinationError.releasedTooOften) { try lock.release() }
            #expect(try lock.acquire(timeout: .zero))
            #expect(lock.isLocked)
            #expect(try lock.acquire(timeout: .zero) == false)
            #expect(try lock.acquire(timeout: .milliseconds(2)) == false)
            #expect(throws: GreenError.negativeTimeout(.seconds(-1))) { try lock.acquire(timeout: .seconds(-1)) }
            #expect(throws: Timeout.self) { try lock.withLock(timeout: .milliseconds(2)) { } }
            #expect(throws: GreenError.wouldBlockForever, "waiting for a lock one holds, alone") { try lock.acquire() }
            try lock.release()
            #expect(!lock.isLocked)
            // withLock releases when the body throws.
            #expect(throws: Boom()) { try lock.withLock { throw Boom() } }
            #expect(!lock.isLocked)
        }
    }

    @Test func releasedLockGoesToTheWaiterNotToALateComer() throws {
        try green { () throws in
            let lock = Lock()
            try lock.acquire()
            let waiter = spawn { try lock.acquire() }
            try settle()
            try lock.release()
            #expect(try lock.acquire(timeout: .zero) == false, "handed to the waiter already")
            #expect(try waiter.get())
            #expect(lock.isLocked)
        }
    }

    @Test func killedLockWaiterDoesNotTakeTheLock() throws {
        try green { () throws in
            let lock = Lock()
            try lock.acquire()
            var tookIt = false
            let a = spawn { try lock.acquire(); tookIt = true }
            let b = spawn { try lock.withLock { } }
            try settle()
            #expect(lock.waiting == 2)
            try a.kill()
            #expect(lock.waiting == 1)
            try lock.release()
            try b.join()
            #expect(!tookIt)
            #expect(!lock.isLocked, "b took and released it; a never did")
            #expect(try lock.acquire(timeout: .zero))
        }
    }

    @Test func lockWaiterWokenThenKilledReleasesThroughWithLock() throws {
        try green { () throws in
            let lock = Lock()
            try lock.acquire()
            var ranBody = false
            let g = spawn {
                try lock.withLock {
                    ranBody = true
                    try sleep(.seconds(10))  // the kill is thrown here
                }
            }
            try settle()
            try lock.release()  // handed to g, which has not run yet
            try g.kill()
            #expect(ranBody)
            #expect(!lock.isLocked, "withLock released it as the kill unwound")
        }
    }

    @Test func rlockIsReentrantPerGreenlet() throws {
        try green { () throws in
            let lock = RLock()
            #expect(throws: CoordinationError.notOwner) { try lock.release() }
            try lock.withLock {
                try lock.withLock {
                    #expect(lock.recursionDepth == 2 && lock.isOwnedByCurrent)
                }
                #expect(lock.recursionDepth == 1)
                let other = spawn { () throws -> Bool in
                    #expect(!lock.isOwnedByCurrent)
                    #expect(throws: CoordinationError.notOwner) { try lock.release() }
                    return try lock.acquire(timeout: .milliseconds(2))
                }
                #expect(try other.get() == false)
            }
            #expect(!lock.isLocked && lock.recursionDepth == 0)
        }
    }

    @Test func rlockHandsOverInOrderAndKilledWaiterTakesNothing() throws {
        let order = try green { () -> [String] in
            let lock = RLock()
            var order: [String] = []
            try lock.acquire()
            try lock.acquire()
            let a = spawn { try lock.withLock { order.append("a") } }
            let b = spawn { try lock.withLock { try lock.withLock { order.append("b") } } }
            let c = spawn { try lock.withLock { order.append("c") } }
            try settle()
            try a.kill()
            try lock.release()
            try settle()
            #expect(order.isEmpty, "still held once")
            try lock.release()
            try joinAll([b, c])
            #expect(!lock.isLocked)
            return order
        }
        #expect(order == ["b", "c"])
    }

    @Test func semaphoreCountsPermits() throws {
        try green { () throws in
            let sem = Semaphore(2)
            var running = 0, maxRunning = 0
            let gs = (0..<6).map { _ in
                spawn {
                    try sem.withLock {
                        running += 1
                        maxRunning = max(maxRunning, running)
                        try sleep(.milliseconds(1))
                        running -= 1
                    }
                }
            }
            try joinAll(gs)
            #expect(maxRunning == 2)
            #expect(sem.value == 2)
            #expect(try sem.acquire(timeout: .zero) && sem.acquire(timeout: .zero))
            #expect(sem.isLocked)
            #expect(try sem.acquire(timeout: .zero) == false)
            sem.release()
            sem.release()
            sem.release()  // an unbounded semaphore may go above its start
            #expect(sem.value == 3)
        }
    }

    @Test func semaphoreCountStaysRightUnderKills() throws {
        try green { () throws in
            let sem = Semaphore(1)
            try sem.acquire()
            let waiters = (0..<5).map { _ in spawn { try sem.withLock { try sleep(.milliseconds(1)) } } }
            try settle()
            #expect(sem.waiting == 5)
            try waiters[0].kill()
            try waiters[3].kill()
            #expect(sem.waiting == 3)
            sem.release()
            try joinAll(waiters)
            #expect(sem.value == 1)
            #expect(sem.waiting == 0)

            // Timed-out waiters take nothing either.
            try sem.acquire()
            let impatient = spawn { try sem.acquire(timeout: .milliseconds(2)) }
            #expect(try impatient.get() == false)
            sem.release()
            #expect(sem.value == 1)
        }
    }

    @Test func semaphoreRandomKillsKeepTheCount() throws {
        try green { () throws in
            var rng = SplitMix(seed: 42)
            let sem = Semaphore(3)
            var holders = 0, maxHolders = 0
            let gs = (0..<30).map { _ in
                spawn {
                    while true {
                        try sem.withLock {
                            holders += 1
                            maxHolders = max(maxHolders, holders)
                            defer { holders -= 1 }
                            try yieldGreenlet()
                        }
                    }
                }
            }
            for _ in 0..<60 {
                try yieldGreenlet()
                try gs[Int.random(in: 0..<gs.count, using: &rng)].kill(block: false)
            }
            try killAll(gs)
            #expect(maxHolders <= 3)
            #expect(holders == 0)
            #expect(sem.value == 3)
        }
    }

    @Test func boundedSemaphoreRefusesTooManyReleases() throws {
        try green { () throws in
            let sem = BoundedSemaphore(2)
            #expect(throws: CoordinationError.releasedTooOften) { try sem.release() }
            #expect(try sem.acquire())
            try sem.release()
            #expect(throws: CoordinationError.releasedTooOften) { try sem.release() }
            #expect(sem.value == 2)
            try sem.withLock { #expect(sem.value == 1) }
            #expect(sem.value == 2)
        }
    }
}
