import Atomics
import Green
import GreenActors
import Testing

/// Actors of one runtime on different hubs: sends, order, links, monitors,
/// supervision and the registry across threads.
@Suite struct CrossHubActorTests {
    /// Collects every message it gets; fulfils `done` after `expected` of them.
    final class Collector: GreenActor<Int> {
        let expected: Int
        var received: [Int] = []
        let done = AsyncResult<[Int]>()
        init(expected: Int) { self.expected = expected; super.init(name: "collector") }
        override func receive(_ n: Int) throws {
            received.append(n)
            if received.count == expected { try done.set(received); stop() }
        }
    }

    /// Answers each ball by sending it back to `peer`.
    final class Bouncer: GreenActor<Int> {
        var peer: GreenActor<Int>?
        let limit: Int
        let finished = AsyncResult<Int>()
        init(name: String, limit: Int) { self.limit = limit; super.init(name: name) }
        override func receive(_ n: Int) throws {
            if n >= limit { try finished.set(n); peer?.stop(); return stop() }
            try peer!.send(n + 1)
        }
    }

    @Test func aPingPongAcrossTwoHubsKeepsEveryBallInOrder() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        try green {
            let a = try runtime.start(on: .hub(0)) { Bouncer(name: "a", limit: 2_000) }
            let b = try runtime.start(on: .hub(1)) { Bouncer(name: "b", limit: 2_000) }
            a.peer = b
            b.peer = a
            try a.send(0)
            try joinAll([a, b])
            let ends = try [runtime.hubs[0].call { a.finished.value }, runtime.hubs[1].call { b.finished.value }]
            #expect(ends.compactMap { $0 } == [2_000])
        }
    }

    @Test func sendsFromOtherHubsAndPlainThreadsArriveInOrderPerSender() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        let perSender = 5_000
        let sink = try runtime.start(on: .hub(0)) { Collector(expected: 3 * perSender) }
        // Sender 1: a greenlet on the other hub. Sender 2: a greenlet on the sink's
        // own hub. Sender 3: a plain OS thread with no hub of its own.
        let far = try runtime.spawn(on: .hub(1)) { for i in 0..<perSender { try sink.send(100_000 + i) } }
        let near = try runtime.spawn(on: .hub(0)) { for i in 0..<perSender { try sink.send(200_000 + i) } }
        try runInNewThread { for i in 0..<perSender { try sink.send(300_000 + i) } }
        let got = try green { () -> [Int] in
            try joinAll([far, near])
            return try runtime.hubs[0].call { try sink.done.get() }
        }
        #expect(got.count == 3 * perSender)
        for base in [100_000, 200_000, 300_000] {
            let mine = got.filter { $0 >= base && $0 < base + perSender }
            #expect(mine == Array(base..<(base + perSender)), "sender \(base) in order, none lost")
        }
    }

    /// Records exits and downs it is told of.
    final class Watcher: GreenActor<String> {
        let seen = Queue<String>()
        override init(name: String? = nil, mailbox: MailboxPolicy = .unbounded, stackSize: Int? = nil) {
            super.init(name: name, mailbox: mailbox, stackSize: stackSize)
            trapsExits = true
        }
        override func handleExit(_ signal: ExitSignal) throws { try seen.put("exit \(signal.peer.name) \(signal.reason)") }
        override func handleDown(_ signal: DownSignal) throws { try seen.put("down \(signal.peer.name) \(signal.reason)") }
        override func receive(_ message: String) throws {}
    }

    final class Crasher: GreenActor<String> {
        override func receive(_ message: String) throws { if message == "crash" { throw Boom() } }
    }

    @Test func linksAndMonitorsCrossHubs() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        try green {
            let watcher = try runtime.start(on: .hub(0)) { Watcher(name: "watcher") }
            let linked = try runtime.start(on: .hub(1)) { Crasher(name: "linked") }
            let monitored = try runtime.start(on: .hub(1)) { Crasher(name: "monitored") }
            let bystander = try runtime.start(on: .hub(0)) { Crasher(name: "bystander") }
            watcher.link(to: linked)
            bystander.link(to: monitored)
            _ = watcher.monitor(monitored)
            // Every link and monitor is in place on both hubs before anything crashes:
            // a round trip to each hub orders it after the requests above.
            for h in runtime.hubs { try h.call {} }
            try linked.send("crash")
            let first = try runtime.hubs[0].call { try watcher.seen.get(timeout: .seconds(30)) }
            #expect(first.hasPrefix("exit linked error"))
            try monitored.send("crash")
            let second = try runtime.hubs[0].call { try watcher.seen.get(timeout: .seconds(30)) }
            #expect(second.hasPrefix("down monitored error"))
            // The non-trapping actor linked across hubs was taken down with it.
            try bystander.join()
            #expect(!bystander.isSuccessful)
            try watcher.shutdown()
        }
    }

    @Test func aSupervisorRestartsAChildPlacedOnAnotherHub() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        let starts = ManagedAtomic<Int>(0)
        let startedOn = ManagedAtomic<Int>(-1)
        try green {
            let spec = ChildSpec(id: "far") {
                starts.wrappingIncrement(ordering: .relaxed)
                return try runtime.start(on: .hub(1)) { Crasher(name: "far") }
            }
            let sup = try runtime.start(on: .hub(0)) { Supervisor(name: "sup", children: [spec]) }
            let first = try runtime.hubs[0].call { sup.child("far")! }
            startedOn.store(first.hub.id, ordering: .relaxed)
            try (first as! Crasher).send("crash")
            try first.join()
            // Wait for the restart: ask the supervisor's hub until a new child is there.
            var second: AnyGreenlet? = nil
            while second == nil || second === first {
                second = try runtime.hubs[0].call { sup.child("far") }
                if second == nil || second === first { try sleep(.milliseconds(1)) }
            }
            #expect(second!.hub === runtime.hubs[1])
            try sup.shutdown()
            #expect(try second!.join(timeout: .seconds(30)))
        }
        #expect(starts.load(ordering: .relaxed) == 2)
        #expect(startedOn.load(ordering: .relaxed) == runtime.hubs[1].id)
    }

    @Test func theRegistryIsProcessWide() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        let name = "cross-hub-collector-\(UInt64.random(in: 0...UInt64.max))"
        try green {
            let sink = try runtime.start(on: .hub(1)) { Collector(expected: 1) }
            try Registry.shared.register(name, sink)
            let sender = try runtime.spawn(on: .hub(0)) { try Registry.shared.send(42, to: name) }
            try sender.get()
            #expect(try runtime.hubs[1].call { try sink.done.get() } == [42])
            try sink.join()
            // The name goes with its holder (removed on the holder's hub).
            try runtime.hubs[1].call {}
            #expect(Registry.shared.whereis(name) == nil)
        }
    }

    final class Counter: GreenActor<Counter.Message> {
        enum Message { case add(Int), get(Reply<Int>) }
        var total = 0
        override func receive(_ m: Message) throws {
            switch m {
            case .add(let n): total += n
            case .get(let reply): reply(total)
            }
        }
    }

    @Test func askAndBoundedMailboxesAcrossHubs() throws {
        let runtime = try GreenRuntime(hubs: 2)
        defer { runtime.stop() }
        try green {
            let counter = try runtime.start(on: .hub(1)) { Counter(name: "counter", mailbox: .blockSender(capacity: 4)) }
            for i in 1...100 { try counter.send(.add(i)) }
            #expect(try counter.ask { .get($0) } == 5050)
            try counter.shutdown()
        }
    }
}
