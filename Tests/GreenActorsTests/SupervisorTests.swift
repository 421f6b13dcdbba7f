import Green
@testable import GreenActors
import Testing

@Suite struct SupervisorTests {
    func run(_ strategy: Supervisor.Strategy, crash id: String) throws -> [String] {
        try green { () -> [String] in
            let journal = Journal()
            let sup = Supervisor(name: "sup", strategy: strategy, children: ["a", "b", "c"].map { workerSpec($0, journal) })
            try sup.start()
            try settle()
            journal.add("--")
            try (sup.child(id) as! Worker).send("crash")
            try settle()
            journal.add("--")
            try sup.shutdown()
            return journal.entries
        }
    }

    @Test func oneForOneRestartsOnlyTheChild() throws {
        #expect(try run(.oneForOne, crash: "b") == [
            "start a", "start b", "start c", "--", "stop b", "start b", "--", "stop c", "stop b", "stop a",
        ])
    }

    @Test func oneForAllStopsTheOthersInReverseAndRestartsAllInOrder() throws {
        #expect(try run(.oneForAll, crash: "b") == [
            "start a", "start b", "start c", "--", "stop b", "stop c", "stop a",
            "start a", "start b", "start c", "--", "stop c", "stop b", "stop a",
        ])
    }

    @Test func restForOneRestartsTheChildAndThoseAfterIt() throws {
        #expect(try run(.restForOne, crash: "b") == [
            "start a", "start b", "start c", "--", "stop b", "stop c", "start b", "start c", "--",
            "stop c", "stop b", "stop a",
        ])
    }

    @Test func transientRestartsOnlyOnFailureTemporaryNever() throws {
        try green {
            let journal = Journal()
            let sup = Supervisor(children: [
                workerSpec("t", journal, restart: .transient),
                workerSpec("n", journal, restart: .transient),
                workerSpec("tmp", journal, restart: .temporary),
            ])
            try sup.start()
            try settle()
            try (sup.child("t") as! Worker).send("crash")
            (sup.child("n") as! Worker).stop()
            try (sup.child("tmp") as! Worker).send("crash")
            try settle()
            #expect(sup.child("t") != nil, "transient child restarted after a crash")
            #expect(sup.child("n") == nil, "transient child not restarted after a normal exit")
            #expect(sup.child("tmp") == nil, "temporary child never restarted")
            #expect(sup.restartCount == 1)
            try sup.shutdown()
        }
    }

    @Test func restartIntensityExceededEscalatesToTheParent() throws {
        try green {
            let journal = Journal()
            var innerStarts = 0
            let inner = ChildSpec(id: "inner", kind: .supervisor) {
                innerStarts += 1
                let s = Supervisor(name: "inner", maxRestarts: 2, within: .seconds(60), children: [workerSpec("w", journal)])
                try s.start()
                return s
            }
            let top = Supervisor(name: "top", maxRestarts: 1, within: .seconds(60), children: [inner])
            try top.start()
            try settle()
            // Crash the worker until the inner supervisor gives up, twice: the top gives up too.
            for _ in 0..<20 {
                guard !top.isDead, let innerSup = top.child("inner") as? Supervisor,
                      let w = innerSup.child("w") as? Worker else { try settle(); continue }
                try w.send("crash")
                try settle()
            }
            try top.join(timeout: .seconds(10))
            #expect(top.isDead)
            #expect(innerStarts == 2, "the top restarted the inner supervisor once")
            guard case .restartIntensityExceeded(let name, _, _)? = top.error as? SupervisorError else {
                Issue.record("top ended with \(String(describing: top.error))"); return
            }
            #expect(name == "top")
        }
    }

    @Test func simpleOneForOneStartsChildrenAtRunTime() throws {
        try green {
            let journal = Journal()
            let sup = Supervisor(strategy: .simpleOneForOne, children: [workerSpec("worker", journal)])
            try sup.start()
            let a = try sup.startChild() as! Worker
            let b = try sup.startChild() as! Worker
            #expect(sup.runningChildren.map(\.id) == ["worker-1", "worker-2"])
            try a.send("crash")
            try settle()
            #expect(sup.runningChildren.count == 2)
            #expect(sup.child("worker-1") !== a)
            #expect(try sup.terminateChild("worker-2"))
            #expect(b.isDead)
            try sup.shutdown()
        }
    }
}

/// Crashes on every message it gets.
final class Crasher: GreenActor<Int> {
    override func receive(_ n: Int) throws { throw Boom() }
}

@Suite struct SupervisorRestartHistoryTests {
    /// Many restarts within the intensity: the supervisor keeps every one in its
    /// window and stays up (the history's cost does not grow with it: see RestartHistory).
    @Test func tenThousandRestartsWithinTheIntensityKeepTheSupervisorUp() throws {
        let (restarts, alive) = try green { () -> (Int, Bool) in
            let started = WaitList()
            var current: Crasher?
            let spec = ChildSpec(id: "crasher", shutdown: .brutalKill) {
                let c = Crasher(name: "crasher")
                try c.start()
                current = c
                started.wakeOne()
                return c
            }
            let sup = Supervisor(maxRestarts: 10_000, within: .seconds(3600), children: [spec])
            try sup.start()
            while current == nil { _ = try started.wait() }
            for _ in 0..<10_000 {
                let child = current!
                current = nil
                try child.send(0)
                while current == nil { _ = try started.wait() }
            }
            let alive = !sup.isDead
            try sup.shutdown()
            return (sup.restartCount, alive)
        }
        #expect(restarts == 10_000)
        #expect(alive)
    }

    @Test func theHistoryKeepsTheWindowAndNoMoreThanItsCap() {
        let t0 = ContinuousClock.now
        var h = RestartHistory(cap: 4)
        #expect(h.note(t0, window: .seconds(10)) == 1)
        #expect(h.note(t0 + .seconds(1), window: .seconds(10)) == 2)
        #expect(h.note(t0 + .seconds(2), window: .seconds(10)) == 3)
        // The first one leaves the window (older than 10 s).
        #expect(h.note(t0 + .seconds(11), window: .seconds(10)) == 3)
        // Never more than the cap.
        for i in 0..<1000 { _ = h.note(t0 + .seconds(12) + .milliseconds(i), window: .seconds(10)) }
        #expect(h.count == 4)
        // All leave the window.
        #expect(h.note(t0 + .seconds(100), window: .seconds(10)) == 1)
    }
}
