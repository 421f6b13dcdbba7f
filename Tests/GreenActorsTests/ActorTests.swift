import Green
import GreenActors
import Testing

/// Counts messages; answers `.get` requests.
final class Counter: GreenActor<Counter.Message> {
    enum Message { case add(Int); case get(Reply<Int>); case getLate(Reply<Int>) }
    var total = 0
    var seen: [Int] = []
    override func receive(_ m: Message) throws {
        switch m {
        case .add(let n): total += n; seen.append(n)
        case .get(let reply): reply(total)
        case .getLate(let reply): try sleep(.milliseconds(50)); reply(total)
        }
    }
}

@Suite struct ActorTests {
    @Test func importsCleanlyBesideSwiftsActor() throws {
        // Swift's `Actor` protocol and Green's `GreenActor` coexist in one file.
        actor SwiftCounter { var n = 0 }
        let swiftOne: any Actor = SwiftCounter()
        let n = try green { () -> Int in
            let c = Counter()
            try c.start()
            try c.send(.add(2))
            return try c.ask { .get($0) }
        }
        #expect(n == 2)
        _ = swiftOne
    }

    @Test func noMessageLostOrDuplicatedAcrossAMillionSends() throws {
        let (total, inOrder, count) = try green { () -> (Int, Bool, Int) in
            let c = Counter()
            try c.start()
            for i in 0..<1_000_000 { try c.send(.add(i)) }
            let total = try c.ask { .get($0) }
            let inOrder = c.seen == Array(0..<1_000_000)
            c.stop()
            try c.join()
            return (total, inOrder, c.seen.count)
        }
        #expect(count == 1_000_000)
        #expect(total == 499_999_500_000)
        #expect(inOrder)
    }

    @Test func askTimesOutAndALateReplyIsDropped() throws {
        try green {
            let c = Counter()
            try c.start()
            #expect(throws: MailboxError.noReply(actor: c.name)) {
                _ = try c.ask(timeout: .milliseconds(5)) { .getLate($0) }
            }
            try sleep(.milliseconds(80)) // the late reply arrives and is dropped
            try c.send(.add(5))
            #expect(try c.ask { .get($0) } == 5)
        }
    }

    @Test func overflowPolicies() throws {
        try green {
            // fail: the send throws.
            let failing = Counter(name: "failing", mailbox: .failSend(capacity: 2))
            try failing.send(.add(1))
            try failing.send(.add(1))
            #expect(throws: MailboxError.full(actor: "failing", capacity: 2)) { try failing.send(.add(1)) }

            // drop: the extra message is a dead letter.
            let before = DeadLetters.countOnThisHub
            let dropping = Counter(name: "dropping", mailbox: .dropNewest(capacity: 2))
            for _ in 0..<5 { try dropping.send(.add(1)) }
            #expect(DeadLetters.countOnThisHub - before == 3)
            try dropping.start()
            try settle() // it takes the two it kept, making room for the request
            #expect(try dropping.ask { .get($0) } == 2)

            // block: the sender waits until the actor makes room; nothing is lost.
            let blocking = Counter(name: "blocking", mailbox: .blockSender(capacity: 2))
            try blocking.start()
            let sender = spawn { for _ in 0..<100 { try blocking.send(.add(1)) } }
            try sender.join()
            #expect(try blocking.ask { .get($0) } == 100)
            #expect(blocking.seen.count == 100)
        }
    }

    @Test func messagesToADeadActorAreDeadLetters() throws {
        try green {
            let c = Counter()
            try c.start()
            c.stop()
            try c.join()
            let before = DeadLetters.countOnThisHub
            #expect(throws: MailboxError.actorDead(actor: c.name)) { try c.send(.add(1)) }
            #expect(DeadLetters.countOnThisHub == before + 1)
        }
    }

    @Test func killInTheMiddleOfReceive() throws {
        try green {
            let journal = Journal()
            let w = Worker("w", journal)
            try w.start()
            try w.send("sleep")
            try settle()
            try w.kill(Boom())
            #expect(journal.entries == ["start w", "stop w"])
            #expect(w.error as? Boom == Boom())
        }
    }

    @Test func aForcedKillCannotBeCaughtButAShutdownCan() throws {
        final class Stubborn: GreenActor<Int> {
            var caught = 0
            override func receive(_ n: Int) throws {
                do { try sleep(.seconds(30)) } catch { caught += 1 }
            }
        }
        try green {
            let s = Stubborn()
            try s.start()
            try s.send(1)
            try s.send(2)
            try settle()
            try s.shutdown(block: false)
            try settle()
            #expect(!s.isDead, "a shutdown can be caught")
            #expect(s.caught == 1)
            try s.forceKill()
            #expect(s.isDead)
            #expect(s.caught == 2)
            guard case .killed = ExitReason(of: s) else { Issue.record("reason \(ExitReason(of: s))"); return }
        }
    }

    @Test func linksPropagateAbnormalExitsButNotNormalOnes() throws {
        try green {
            let journal = Journal()
            let a = Worker("a", journal), b = Worker("b", journal)
            try a.start(); try b.start()
            link(a, b)
            try a.send("crash")
            try b.join(timeout: .seconds(10))
            let e = b.error as? LinkedExit
            #expect(e?.peer == "a")

            let c = Worker("c", journal), d = Worker("d", journal)
            try c.start(); try d.start()
            c.link(to: d)
            c.stop()
            try c.join()
            try settle()
            #expect(!d.isDead, "a normal exit does not kill linked peers")

            // Actor and plain greenlet.
            let g = spawn { try sleep(.seconds(30)) }
            d.link(to: g)
            try d.send("crash")
            try g.join(timeout: .seconds(10))
            #expect((g.error as? LinkedExit)?.peer == "d")
        }
    }

    @Test func trappingExitsTurnsThemIntoMessages() throws {
        final class Trapper: GreenActor<Int> {
            var exits: [String] = []
            override func handleExit(_ s: ExitSignal) throws { exits.append("\(s.peer.name):\(s.reason)") }
        }
        try green {
            let journal = Journal()
            let t = Trapper()
            t.trapsExits = true
            try t.start()
            let w = Worker("w", journal)
            try w.start()
            t.link(to: w)
            let g = spawn(name: "plain") { () throws -> Void in throw Boom() }
            t.link(to: g)
            try w.send("crash")
            try settle()
            #expect(!t.isDead)
            #expect(Set(t.exits) == ["w:error(Boom())", "plain:error(Boom())"])
        }
    }

    @Test func monitorsAreOneWayAndCanBeCancelled() throws {
        final class Watcher: GreenActor<Int> {
            var downs: [String] = []
            override func handleDown(_ d: DownSignal) throws { downs.append("\(d.peer.name):\(d.reason)") }
        }
        try green {
            let journal = Journal()
            let watcher = Watcher()
            try watcher.start()
            let a = Worker("a", journal), b = Worker("b", journal)
            try a.start(); try b.start()
            watcher.monitor(a)
            let ref = watcher.monitor(b)
            watcher.demonitor(ref)
            try a.send("crash")
            b.stop()
            try settle()
            #expect(watcher.downs == ["a:error(Boom())"])
            #expect(!watcher.isDead, "a monitor never kills the watcher")
        }
    }

    /// A monitor's target holds its watcher only while the monitor stands:
    /// a watcher that ended, or cancelled its monitor, is freed although the
    /// target lives on.
    @Test func aLongLivedTargetDoesNotKeepItsWatchersAlive() throws {
        final class Watcher: GreenActor<Int> {}
        try green {
            let journal = Journal()
            let target = Worker("target", journal)
            try target.start()
            weak var ended: Watcher?
            weak var cancelled: Watcher?
            do {
                let w1 = Watcher(), w2 = Watcher()
                try w1.start(); try w2.start()
                w1.monitor(target)
                let ref = w2.monitor(target)
                try settle()
                w1.stop()
                w2.demonitor(ref)
                try w1.join()
                try settle()
                ended = w1
                cancelled = w2
                w2.stop()
                try w2.join()
            }
            try settle()
            #expect(ended == nil, "a watcher that ended is freed while its target lives")
            #expect(cancelled == nil, "a watcher whose monitor was cancelled is freed")
            #expect(!target.isDead)
            target.stop()
        }
    }

    @Test func registryNamesGoWhenTheActorDies() throws {
        try green {
            let reg = Registry.current
            let c = Counter(name: "counter")
            try c.start()
            try reg.register("counter", c)
            #expect(throws: Registry.Failure.nameTaken("counter")) { try reg.register("counter", Counter()) }
            try reg.send(Counter.Message.add(3), to: "counter")
            #expect(try reg.lookup("counter", as: Counter.Message.self)?.ask { .get($0) } == 3)
            #expect(throws: Registry.Failure.wrongMessageType(name: "counter", expected: "String")) {
                try reg.send("x", to: "counter")
            }
            c.stop()
            try c.join()
            try settle()
            #expect(reg.whereis("counter") == nil)
            #expect(throws: Registry.Failure.noSuchName("counter")) { try reg.send(Counter.Message.add(1), to: "counter") }
        }
    }

    @Test func aTreeOfTenThousandActorsStartsAndStopsCleanly() throws {
        try green {
            let journal = Journal()
            var leaves = 0
            let groups = (0..<100).map { g in
                ChildSpec(id: "group-\(g)", kind: .supervisor) {
                    let sup = Supervisor(name: "group-\(g)", children: (0..<100).map { i in
                        ChildSpec(id: "w-\(g)-\(i)") { leaves += 1; let a = Counter(); try a.start(); return a }
                    })
                    try sup.start()
                    return sup
                }
            }
            let root = Supervisor(name: "root", children: groups)
            try root.start()
            try settle()
            #expect(leaves == 10_000)
            #expect(root.runningChildren.count == 100)
            try root.shutdown()
            #expect(root.isDead)
            let anyAlive = groups.indices.contains { _ in false }
            #expect(!anyAlive)
            _ = journal
        }
    }
}
