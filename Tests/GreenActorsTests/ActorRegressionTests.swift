import Green
import GreenActors
import Testing

/// Holds every request it gets and never answers (or dies on `.die`).
final class Sink: GreenActor<Sink.Message> {
    enum Message { case keep(Reply<Int>); case die(Reply<Int>); case add(Int) }
    var kept: [Reply<Int>] = []
    var seen: [Int] = []
    override func receive(_ m: Message) throws {
        switch m {
        case .keep(let r): kept.append(r)
        case .die: throw Boom()
        case .add(let n): seen.append(n)
        }
    }
}

/// Regression tests of issue 17 for actors and supervisors.
@Suite struct ActorRegressionTests {
    /// #7: woken by the owner's death, a blocked sender must not deliver.
    @Test func aSenderBlockedOnAFullMailboxGetsActorDeadWhenTheOwnerDies() throws {
        try green {
            let a = Sink(name: "full", mailbox: .blockSender(capacity: 1))
            try a.send(.add(1)) // not started: the mailbox is now full
            let before = DeadLetters.count
            let sender = spawn { try a.send(.add(2)) }
            try yieldGreenlet() // the sender blocks
            try a.kill()
            #expect(throws: MailboxError.actorDead(actor: "full")) { try sender.get() }
            // The queued message and the blocked sender's both became dead letters
            // (>=: other tests may record dead letters meanwhile).
            #expect(DeadLetters.count - before >= 2)
            #expect(a.pendingMessages == 0)
        }
    }

    /// Blocked senders are served in the order they blocked; a newcomer waits behind them.
    @Test func blockedSendersAreServedFirstInFirstOut() throws {
        try green {
            let a = Sink(name: "fifo", mailbox: .blockSender(capacity: 1))
            try a.send(.add(0)) // full
            let first = spawn { try a.send(.add(1)) }
            let quitter = spawn { try a.send(.add(9)) }
            try yieldGreenlet() // `first` and `quitter` block
            try quitter.kill() // killed while blocked: its message is not sent
            try a.start()
            // Runs after the actor has taken .add(0) and before `first` resumes.
            let newcomer = spawn { try a.send(.add(2)) }
            try first.join()
            try newcomer.join()
            a.stop()
            try a.join()
            #expect(a.seen == [0, 1, 2])
        }
    }

    /// #8: two children of a oneForAll supervisor crash before it runs.
    @Test func aStaleExitFromAFormerChildDoesNotKillTheSupervisor() throws {
        try green {
            let journal = Journal()
            let sup = Supervisor(name: "sup", strategy: .oneForAll, children: ["a", "b", "c"].map { workerSpec($0, journal) })
            try sup.start()
            try settle()
            let old = sup.runningChildren.map(\.greenlet)
            try (sup.child("a") as! Worker).send("crash")
            try (sup.child("b") as! Worker).send("crash")
            // Handled after both exit notices (notices come before requests).
            #expect(try sup.terminateChild("none", timeout: .seconds(20)) == false)
            #expect(!sup.isDead, "ended with \(String(describing: sup.error))")
            #expect(sup.restartCount == 1)
            let now = sup.runningChildren.map(\.greenlet)
            #expect(now.count == 3)
            #expect(zip(old, now).allSatisfy { $0 !== $1 })
            try sup.shutdown()
        }
    }

    /// An exit notice already queued is gone once `unlink` returns.
    @Test func unlinkDropsAnExitNoticeAlreadyQueued() throws {
        final class Trapper: GreenActor<Int> {
            var exits: [String] = []
            override func handleExit(_ s: ExitSignal) throws { exits.append(s.peer.name) }
        }
        try green {
            let t = Trapper()
            t.trapsExits = true
            let g = spawn(name: "peer") { () throws -> Void in throw Boom() }
            t.link(to: g)
            try g.join()
            try sleep(.milliseconds(1)) // its exit is queued in t's mailbox
            t.unlink(from: g)
            try t.start()
            t.stop()
            try t.join()
            #expect(t.exits.isEmpty)
        }
    }

    /// #9: a shutdown that arrives while the supervisor waits for a child to stop.
    @Test func aShutdownDuringAChildsStopIsNotSwallowed() throws {
        try green {
            let gate = Event()
            let slow = ChildSpec(id: "slow", shutdown: .timeout(.seconds(60))) {
                spawn {
                    do { try sleep(.seconds(60)) } catch { try gate.wait() } // slow to stop
                }
            }
            let sup = Supervisor(name: "sup", children: [slow])
            try sup.start()
            try settle()
            let terminator = spawn { try sup.terminateChild("slow", timeout: .seconds(60)) }
            try settle() // the supervisor now waits for "slow" to stop
            try sup.shutdown(block: false)
            gate.set()
            try sup.join(timeout: .seconds(20))
            #expect(sup.isDead, "the shutdown was swallowed")
            guard case .shutdown = ExitReason(of: sup) else {
                Issue.record("ended with \(ExitReason(of: sup))"); return
            }
            #expect(try terminator.get(), "the request in hand was answered before it ended")
        }
    }

    /// #10: an asker learns at once that the actor it waits on has died.
    @Test func askToAnActorThatDiesFailsAtOnce() throws {
        try green {
            let a = Sink(name: "dies")
            try a.start()
            #expect(throws: MailboxError.actorDead(actor: "dies")) { _ = try a.ask(timeout: nil) { .die($0) } }
            let b = Sink(name: "killed")
            try b.start()
            let asker = spawn { try b.ask(timeout: .seconds(60)) { .keep($0) } }
            try settle()
            try b.kill()
            #expect(throws: MailboxError.actorDead(actor: "killed")) { try asker.get(timeout: .seconds(20)) }
        }
    }

    /// A spurious wake-up does not restart the ask's timeout.
    @Test func aSpuriousWakeDoesNotExtendAnAsksTimeout() throws {
        try green {
            let a = Sink()
            try a.start()
            var wakerDone = false
            let asker = spawn { () throws -> Bool in
                do {
                    _ = try a.ask(timeout: .milliseconds(50)) { .keep($0) }
                    return false
                } catch MailboxError.noReply {
                    return !wakerDone
                }
            }
            let waker = spawn {
                for _ in 0..<1000 where !asker.isDead {
                    try sleep(.milliseconds(2))
                    Hub.current.wake(asker)
                }
                wakerDone = true
            }
            #expect(try asker.get(), "the ask timed out only after the spurious wake-ups stopped")
            try waker.kill()
        }
    }

    /// A forced kill stays: catching it and blocking again does not save the actor.
    @Test func aForcedKillEndsAnActorThatCatchesItAndBlocksAgain() throws {
        final class Clinger: GreenActor<Int> {
            override func receive(_ n: Int) throws {
                do { try sleep(.seconds(60)) } catch { try sleep(.seconds(60)) }
            }
        }
        try green {
            let c = Clinger()
            try c.start()
            try c.send(1)
            try settle()
            try c.forceKill(timeout: .seconds(10))
            #expect(c.isDead)
            guard case .killed = ExitReason(of: c) else { Issue.record("reason \(ExitReason(of: c))"); return }
        }
    }

    /// A restart that fails counts toward restart intensity (as in OTP) instead
    /// of ending the supervisor at once.
    @Test func aFailedRestartCountsTowardRestartIntensity() throws {
        try green {
            let journal = Journal()
            // Fails once, on its first restart, then starts again.
            var starts = 0
            let flaky = ChildSpec(id: "flaky") {
                starts += 1
                if starts == 2 { throw Boom() }
                let w = Worker("flaky", journal)
                try w.start()
                return w
            }
            let sup = Supervisor(name: "sup", maxRestarts: 3, within: .seconds(60), children: [flaky])
            try sup.start()
            try settle()
            try (sup.child("flaky") as! Worker).send("crash")
            #expect(try sup.terminateChild("none", timeout: .seconds(20)) == false)
            #expect(!sup.isDead, "ended with \(String(describing: sup.error))")
            #expect(starts == 3)
            #expect(sup.restartCount == 2)
            #expect(sup.child("flaky") != nil)
            try sup.shutdown()

            // One that never starts again: the supervisor gives up by intensity.
            var brokenStarts = 0
            let broken = ChildSpec(id: "broken") {
                brokenStarts += 1
                if brokenStarts > 1 { throw Boom() }
                let w = Worker("broken", journal)
                try w.start()
                return w
            }
            let sup2 = Supervisor(name: "sup2", maxRestarts: 3, within: .seconds(60), children: [broken])
            try sup2.start()
            try settle()
            try (sup2.child("broken") as! Worker).send("crash")
            try sup2.join(timeout: .seconds(20))
            #expect(sup2.isDead)
            guard case .restartIntensityExceeded? = sup2.error as? SupervisorError else {
                Issue.record("sup2 ended with \(String(describing: sup2.error))"); return
            }
            #expect(brokenStarts == 4, "the first start and three failed restarts")
        }
    }
}
