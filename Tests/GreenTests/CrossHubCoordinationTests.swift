import Atomics
import Foundation
import Green
import Testing

/// A list several threads append to (test bookkeeping only).
final class SharedList<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ x: T) { lock.lock(); items.append(x); lock.unlock() }
    var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
}

/// The largest value an atomic counter reached, kept while it moves.
final class HighWater: @unchecked Sendable {
    let now = ManagedAtomic<Int>(0)
    let max = ManagedAtomic<Int>(0)
    func enter() {
        let n = now.wrappingIncrementThenLoad(ordering: .relaxed)
        var seen = max.load(ordering: .relaxed)
        while n > seen {
            let (done, current) = max.compareExchange(expected: seen, desired: n, ordering: .relaxed)
            if done { break }
            seen = current
        }
    }
    func leave() { now.wrappingDecrement(ordering: .relaxed) }
}

/// Runs `body` on a plain thread of its own (its hub is made lazily, as for
/// any thread that calls into Green) beside a runtime of two hubs.
func withTwoHubs<T>(_ body: @escaping (GreenRuntime) throws -> T) throws -> T {
    let runtime = try GreenRuntime(hubs: 2)
    defer { runtime.stop() }
    return try green { try body(runtime) }
}

/// Whether `items` of each producer (item / 1000) come in increasing order.
func inOrderPerProducer(_ items: [Int]) -> Bool {
    var last: [Int: Int] = [:]
    for x in items {
        if let l = last[x / 1000], l >= x { return false }
        last[x / 1000] = x
    }
    return true
}

/// Coordination primitives used by greenlets of two hubs and a plain thread.
/// Objects are made on hub 0 (`withPlacement`), so hub 1 and the test's own
/// thread reach them across hubs.
@Suite struct CrossHubCoordinationTests {
    // MARK: Queue

    @Test func queueHandsEachItemOverOnceInOrderPerProducer() throws {
        try withTwoHubs { runtime in
            let q = runtime.withPlacement(.hub(0)) { Queue<Int>(maxSize: 4) }
            let consumers = try [Placement.hub(0), .hub(1)].map { p in
                try runtime.spawn(on: p) { () throws -> [Int] in
                    var got: [Int] = []
                    while let x = try q.nextItem() { got.append(x) }
                    return got
                }
            }
            // A local consumer on the plain thread, iterating.
            let local = spawn { () -> [Int] in Array(q) }
            let producers = try [Placement.hub(0), .hub(1)].enumerated().map { (i, p) in
                try runtime.spawn(on: p) { for k in 0..<200 { try q.put(i * 1000 + k) } }
            }
            for k in 0..<200 { try q.put(2000 + k) }  // the plain thread produces too
            try joinAll(producers)
            q.close()
            let all = try consumers.map { try $0.get() } + [try local.get()]
            #expect(all.joined().sorted() == (0..<3).flatMap { p in (0..<200).map { p * 1000 + $0 } })
            for got in all { #expect(inOrderPerProducer(got)) }
            #expect(q.isClosed && q.isEmpty)
            #expect(throws: QueueError.closed) { try q.put(1) }
        }
    }

    @Test func queueKindsKeepTheirOrderAcrossHubs() throws {
        try withTwoHubs { runtime in
            let lifo = runtime.withPlacement(.hub(0)) { LifoQueue<Int>() }
            let prio = runtime.withPlacement(.hub(0)) { PriorityQueue<Int>() }
            let work = runtime.withPlacement(.hub(0)) { JoinableQueue<Int>() }
            let far = try runtime.spawn(on: .hub(1)) { () throws -> [Int] in
                for i in 1...3 { try lifo.put(i) }
                for i in [5, 1, 3] { try prio.putNowait(i) }
                return [try lifo.get(), try lifo.get(), try lifo.get(), try prio.get(), try prio.get(), try prio.get()]
            }
            #expect(try far.get() == [3, 2, 1, 1, 3, 5])
            let done = SharedList<Int>()
            let workers = try (0..<2).map { _ in
                try runtime.spawn(on: .hub(1)) {
                    while let x = try work.nextItem() { done.append(x); try work.taskDone() }
                }
            }
            for i in 0..<20 { try work.put(i) }
            #expect(try work.join(timeout: .seconds(30)))
            #expect(work.unfinished == 0)
            #expect(done.all.sorted() == Array(0..<20))
            #expect(throws: CoordinationError.taskDoneTooOften) { try work.taskDone() }
            work.close()
            try joinAll(workers)
        }
    }

    /// Producers and consumers on both hubs, random kills from the plain
    /// thread: every item is delivered once, left in the queue, or refused to
    /// its producer.
    @Test func randomKillsAcrossHubsLoseNothingAndDuplicateNothing() throws {
        for seed in [1, 2, 3] as [UInt64] {
            try withTwoHubs { runtime in
                var rng = SplitMix(seed: seed)
                let q = runtime.withPlacement(.hub(0)) { Queue<Int>(maxSize: 3) }
                let accepted = SharedList<Int>(), refused = SharedList<Int>(), delivered = SharedList<Int>()
                var everyone: [AnyGreenlet] = []
                for i in 0..<6 {
                    everyone.append(try runtime.spawn(on: .hub(i % 2)) {
                        for k in 0..<20 {
                            let item = i * 1000 + k
                            do { try q.put(item); accepted.append(item) } catch { refused.append(item); throw error }
                        }
                    })
                    everyone.append(try runtime.spawn(on: .hub((i + 1) % 2)) {
                        var mine = SplitMix(seed: seed &* 31 &+ UInt64(i))
                        while true {
                            delivered.append(try q.get(timeout: .milliseconds(200)))
                            if Int.random(in: 0..<4, using: &mine) == 0 { try yieldGreenlet() }
                        }
                    })
                }
                for _ in 0..<40 {
                    try sleep(.microseconds(Int.random(in: 0..<300, using: &rng)))
                    try everyone[Int.random(in: 0..<everyone.count, using: &rng)].kill(block: false)
                }
                try killAll(everyone)
                var left: [Int] = []
                while let x = try? q.getNowait() { left.append(x) }
                let got = delivered.all
                #expect((got + left).sorted() == accepted.all.sorted(), "seed \(seed)")
                #expect(Set(got).count == got.count, "seed \(seed)")
                #expect(Set(refused.all).isDisjoint(with: got + left), "seed \(seed)")
                #expect(q.waitingGetters == 0 && q.waitingPutters == 0, "seed \(seed)")
            }
        }
    }

    /// The deterministic case of the stress test: the item is handed to the
    /// waiting proxy, then the kill reaches the caller while it still waits
    /// for the answer (both travel from hub 0 to hub 1 in that order).
    @Test func aGetterKilledWhileWaitingAcrossHubsKeepsWhatItWasHanded() throws {
        try withTwoHubs { runtime in
            let q = runtime.withPlacement(.hub(0)) { Queue<Int>() }
            let ch = runtime.withPlacement(.hub(0)) { Channel<Int>() }
            let kept = SharedList<Int>()
            let getters = try [0, 1].map { which in
                try runtime.spawn(on: .hub(1)) {
                    kept.append(which == 0 ? try q.get() : try ch.get())
                    try sleep(.seconds(60))  // the kill is thrown here
                }
            }
            let handler = try runtime.spawn(on: .hub(0)) {
                while q.waitingGetters == 0 || ch.waitingGetters == 0 { try sleep(.milliseconds(1)) }
                try q.put(5)
                try ch.put(6)  // a getter waits: hands over and returns
                for g in getters { try g.kill(block: false) }
            }
            try handler.join()
            try joinAll(getters)
            #expect(kept.all.sorted() == [5, 6])
            #expect(getters.allSatisfy { $0.isSuccessful })  // ended by the kill (a clean exit)
            #expect(q.isEmpty && q.waitingGetters == 0 && ch.waitingGetters == 0)
        }
    }

    @Test func closeReachesWaitersOnEveryHub() throws {
        try withTwoHubs { runtime in
            let q = runtime.withPlacement(.hub(0)) { Queue<Int>(maxSize: 1) }
            try q.put(1)
            let blockedPutter = try runtime.spawn(on: .hub(1)) { try q.put(2) }
            let drainer = try runtime.spawn(on: .hub(1)) { () throws -> [Int] in
                while q.waitingPutters == 0 { try sleep(.milliseconds(1)) }
                return [try q.get(), try q.get()]  // 1, then the blocked putter's 2
            }
            #expect(try drainer.get() == [1, 2])
            try blockedPutter.join()
            let getters = try [Placement.hub(0), .hub(1)].map { p in
                try runtime.spawn(on: p) { () throws -> Int? in try q.nextItem() }
            }
            let localGetter = spawn { () throws -> Int? in try q.nextItem() }
            while q.waitingGetters < 3 { try sleep(.milliseconds(1)) }
            try runtime.spawn(on: .hub(1)) { q.close() }.join()
            for g in getters + [localGetter] { #expect(try g.get() == nil) }
            #expect(throws: QueueError.closed) { try q.putNowait(3) }
        }
    }

    // MARK: AsyncResult, Event, Channel

    @Test func anAsyncResultSetOnOneHubWakesWaitersEverywhere() throws {
        try withTwoHubs { runtime in
            let r = runtime.withPlacement(.hub(0)) { AsyncResult<Int>() }
            #expect(try r.wait(timeout: .zero) == false)
            #expect(throws: Timeout.self) { try r.getNowait() }
            let waiters = try [Placement.hub(0), .hub(1)].map { p in try runtime.spawn(on: p) { try r.get() } }
            let local = spawn { try r.get() }
            try runtime.spawn(on: .hub(1)) { try r.set(42) }.get()
            #expect(throws: CoordinationError.alreadySet) { try r.set(7) }
            for w in waiters + [local] { #expect(try w.get() == 42) }
            #expect(r.isReady && r.isSuccessful && r.value == 42 && r.error == nil)

            let failed = runtime.withPlacement(.hub(0)) { AsyncResult<Int>() }
            try failed.set(error: Boom(tag: "far"))
            let reader = try runtime.spawn(on: .hub(1)) { () throws -> Int in try failed.get() }
            #expect(throws: Boom(tag: "far")) { try reader.get() }
            #expect(failed.error as? Boom == Boom(tag: "far"))
        }
    }

    @Test func anEventSetAndClearedFromAnotherHub() throws {
        try withTwoHubs { runtime in
            let e = runtime.withPlacement(.hub(0)) { Event() }
            let waiters = try [Placement.hub(0), .hub(1)].map { p in try runtime.spawn(on: p) { try e.wait() } }
            try runtime.spawn(on: .hub(1)) { e.set() }.join()
            for w in waiters { #expect(try w.get()) }
            #expect(e.isSet)
            e.clear()
            #expect(e.isSet == false)  // the clear went first: one thread's operations keep their order
            #expect(try e.wait(timeout: .zero) == false)
        }
    }

    @Test func aChannelMeetsPuttersAndGettersOfDifferentHubs() throws {
        try withTwoHubs { runtime in
            let ch = runtime.withPlacement(.hub(1)) { Channel<Int>() }
            #expect(throws: QueueError.full) { try ch.putNowait(1) }
            #expect(throws: QueueError.empty) { try ch.getNowait() }
            let putter = try runtime.spawn(on: .hub(0)) {
                for i in 0..<50 { try ch.put(i) }
                ch.close()
            }
            #expect(Array(ch) == Array(0..<50))  // the plain thread iterates until closed
            try putter.join()
            #expect(ch.isClosed)
            #expect(throws: QueueError.closed) { try ch.put(1) }

            // A close from the plain thread reaches a getter and a putter blocked on hub 1.
            let empty = runtime.withPlacement(.hub(0)) { Channel<Int>() }
            let unread = runtime.withPlacement(.hub(0)) { Channel<Int>() }
            let blockedGetter = try runtime.spawn(on: .hub(1)) { () throws -> Int in try empty.get() }
            let blockedPutter = try runtime.spawn(on: .hub(1)) { try unread.put(9) }
            while empty.waitingGetters == 0 || unread.waitingPutters == 0 { try sleep(.milliseconds(1)) }
            empty.close()
            unread.close()
            #expect(throws: QueueError.closed) { try blockedGetter.get() }
            #expect(throws: QueueError.closed) { try blockedPutter.get() }
        }
    }

    // MARK: Timeouts

    @Test func timeoutsAcrossHubsEndTheWaitAndLeaveNothingBehind() throws {
        try withTwoHubs { runtime in
            let q = runtime.withPlacement(.hub(0)) { Queue<Int>() }
            let ch = runtime.withPlacement(.hub(0)) { Channel<Int>() }
            let lock = runtime.withPlacement(.hub(0)) { Lock() }
            let sem = runtime.withPlacement(.hub(0)) { Semaphore(0) }
            let e = runtime.withPlacement(.hub(0)) { Event() }
            try lock.acquire()
            try runtime.spawn(on: .hub(1)) { () throws in
                #expect(throws: QueueError.empty) { try q.get(timeout: .milliseconds(10)) }
                #expect(throws: QueueError.full) { try ch.put(1, timeout: .milliseconds(10)) }
                #expect(try lock.acquire(timeout: .milliseconds(10)) == false)
                #expect(try sem.acquire(timeout: .milliseconds(10)) == false)
                #expect(try e.wait(timeout: .milliseconds(10)) == false)
                // A started Timeout ends a wait across hubs like a local one.
                #expect(throws: Timeout.self) { try withTimeout(.milliseconds(10)) { try q.get() } }
                #expect(q.waitingGetters == 0 && ch.waitingPutters == 0 && lock.waiting == 0 && sem.waiting == 0)
            }.join()
            try q.put(1)
            try lock.release()
            sem.release()
            try runtime.spawn(on: .hub(1)) { () throws in
                #expect(try q.get() == 1)
                #expect(try lock.acquire(timeout: .zero))
                #expect(try sem.acquire(timeout: .zero))
            }.join()
        }
    }

    // MARK: Locks and semaphores

    @Test func aLockExcludesGreenletsOfEveryHub() throws {
        try withTwoHubs { runtime in
            let lock = runtime.withPlacement(.hub(0)) { Lock() }
            let inside = HighWater()
            var counter = 0  // guarded by the lock, touched from two threads
            let workers = try (0..<6).map { i in
                try runtime.spawn(on: .hub(i % 2)) {
                    for _ in 0..<30 {
                        try lock.withLock {
                            inside.enter()
                            defer { inside.leave() }
                            let seen = counter
                            try yieldGreenlet()
                            counter = seen + 1
                        }
                    }
                }
            }
            try joinAll(workers)
            #expect(inside.max.load(ordering: .relaxed) == 1)
            #expect(try lock.withLock { counter } == 180)
            #expect(lock.isLocked == false)
            #expect(throws: CoordinationError.releasedTooOften) { try lock.release() }
        }
    }

    @Test func anRLockIsOwnedByTheGreenletThatAcquiredItOnAnotherHub() throws {
        try withTwoHubs { runtime in
            let lock = runtime.withPlacement(.hub(0)) { RLock() }
            let held = runtime.withPlacement(.hub(0)) { Event() }
            let letGo = runtime.withPlacement(.hub(0)) { Event() }
            let owner = try runtime.spawn(on: .hub(1)) { () throws -> [Int] in
                try lock.acquire()
                try lock.acquire()  // re-entry across hubs
                let state = [lock.recursionDepth, lock.isOwnedByCurrent ? 1 : 0]
                held.set()
                try letGo.wait()
                try lock.release()
                try lock.release()
                return state
            }
            try held.wait()
            #expect(lock.isLocked && !lock.isOwnedByCurrent)
            #expect(throws: CoordinationError.notOwner) { try lock.release() }
            let rival = try runtime.spawn(on: .hub(0)) { try lock.acquire(timeout: .zero) }
            #expect(try rival.get() == false)
            letGo.set()
            #expect(try owner.get() == [2, 1])
            #expect(try lock.acquire(timeout: .seconds(30)))
            #expect(lock.isOwnedByCurrent && lock.recursionDepth == 1)
            try lock.release()
        }
    }

    /// Workers on both hubs hold permits while random kills land: no more
    /// than three are ever held at once, and all three come back.
    @Test func semaphorePermitsAreConservedUnderKillsAcrossHubs() throws {
        for seed in [5, 6] as [UInt64] {
            try withTwoHubs { runtime in
                var rng = SplitMix(seed: seed)
                let sem = runtime.withPlacement(.hub(0)) { Semaphore(3) }
                let held = HighWater()
                let workers = try (0..<8).map { i in
                    try runtime.spawn(on: .hub(i % 2)) {
                        while true {
                            try sem.withLock {
                                held.enter()
                                defer { held.leave() }
                                try yieldGreenlet()
                            }
                        }
                    }
                }
                for _ in 0..<30 {
                    try sleep(.microseconds(Int.random(in: 0..<300, using: &rng)))
                    try workers[Int.random(in: 0..<workers.count, using: &rng)].kill(block: false)
                }
                try killAll(workers)
                #expect(held.max.load(ordering: .relaxed) <= 3, "seed \(seed)")
                #expect(sem.value == 3 && sem.waiting == 0, "seed \(seed)")
            }
        }
    }

    /// A waiter handed a permit and killed before it ran keeps the permit.
    @Test func aWaiterKilledAfterItWasGrantedAPermitKeepsIt() throws {
        try withTwoHubs { runtime in
            let sem = runtime.withPlacement(.hub(0)) { Semaphore(0) }
            let holder = try runtime.spawn(on: .hub(1)) { () throws -> Bool in
                let got = try sem.acquire()
                do { try sleep(.seconds(60)) } catch { return got }  // the kill lands here
                return false
            }
            try runtime.spawn(on: .hub(0)) {
                while sem.waiting == 0 { try sleep(.milliseconds(1)) }
                sem.release()
                try holder.kill(block: false)
            }.join()
            #expect(try holder.get())
            #expect(sem.value == 0)  // held by the killed waiter, not lost, not doubled
            let bounded = runtime.withPlacement(.hub(0)) { BoundedSemaphore(1) }
            #expect(throws: CoordinationError.releasedTooOften) { try bounded.release() }
            #expect(try bounded.acquire(timeout: .zero))
            try bounded.release()
            #expect(bounded.value == 1)
        }
    }

    // MARK: Hub-local objects

    /// Each hub-local object, bound to hub 0 and used from hub 1, stops the
    /// program (in a child process) with a message naming both hubs.
    @Test(arguments: ["socket", "reader", "writer", "group", "wait-any", "iwait", "waitlist", "timeout"])
    func hubLocalObjectsUsedFromAnotherHubStopTheProgram(_ what: String) throws {
        let r = try runChild(["wrong-hub", what])
        let hubs = r.stdout.split(separator: "\n").first { $0.hasPrefix("HUBS ") }?.dropFirst(5).split(separator: "|")
        #expect(r.reason == .uncaughtSignal, "\(what): status \(r.status), stdout: \(r.stdout)")
        #expect(!r.stdout.contains("no stop"))
        #expect(hubs?.count == 2)
        for h in hubs ?? [] {
            #expect(r.stderr.contains("belongs to \(hubs![0]) and was used from \(hubs![1])"), "\(what): \(r.stderr)")
            #expect(r.stderr.contains(String(h)))
        }
    }
}
