import Foundation
import Green
import GreenActors
import GreenAMQP
import GreenRemote
import GreenTestSupport
import Testing

enum CounterMessage: Codable {
    case add(Int, from: String)
    case total(RemoteReply<[Int]>)
}

/// Records what it is sent, in order, and answers `total` with it.
final class Recorder: GreenActor<CounterMessage> {
    var seen: [Int] = []
    override func receive(_ m: CounterMessage) throws {
        switch m {
        case .add(let n, _): seen.append(n)
        case .total(let reply): reply(seen)
        }
    }
}

/// Watches a greenlet and keeps the down notice.
final class Watcher: GreenActor<Never> {
    let downs = Queue<DownSignal>()
    override func handleDown(_ signal: DownSignal) throws { try downs.put(signal) }
}

extension BrokerTests {
    @Suite struct RemoteActorTests {
        @Test(arguments: [RemoteEncoding.json, .binary])
        func sendsArriveInOrderAndAskAnswers(encoding: RemoteEncoding) throws {
            try withBroker {
                let a = try Node.join(name: uniqueName("a"), broker: Broker.url, encoding: encoding)
                let b = try Node.join(name: uniqueName("b"), broker: Broker.url, encoding: encoding)
                defer { try? a.leave(); try? b.leave() }
                let recorder = Recorder()
                try recorder.start()
                try b.register(recorder, as: "recorder")
                let ref = a.ref("recorder", on: b.name, as: CounterMessage.self)
                for i in 0..<300 { try ref.send(.add(i, from: a.name)) }
                // The ask travels behind the sends on the same path: it sees them all.
                let total = try ref.ask(timeout: .seconds(30)) { .total($0) }
                #expect(total == Array(0..<300))
                #expect(b.deadLetters.isEmpty)
                try recorder.shutdown()
            }
        }

        /// A poison message goes to the receiving node's dead letters with the
        /// reason; the actor and later messages are unharmed.
        @Test func aPoisonMessageIsADeadLetterWithItsReason() throws {
            try withBroker {
                let a = try Node.join(name: uniqueName("a"), broker: Broker.url)
                let b = try Node.join(name: uniqueName("b"), broker: Broker.url)
                defer { try? a.leave(); try? b.leave() }
                let recorder = Recorder()
                try recorder.start()
                try b.register(recorder, as: "recorder")
                let deadBefore = DeadLetters.count
                // Another program's message type: it does not decode as CounterMessage.
                try a.ref("recorder", on: b.name, as: [String: Double].self).send(["price": 9.5])
                try a.ref("nobody", on: b.name, as: Int.self).send(1)
                let ref = a.ref("recorder", on: b.name, as: CounterMessage.self)
                try ref.send(.add(7, from: a.name))
                #expect(try ref.ask(timeout: .seconds(30)) { .total($0) } == [7])
                #expect(b.deadLetters.count == 2)
                #expect(b.deadLetters.first?.reason.hasPrefix("does not decode") == true)
                #expect(b.deadLetters.last?.reason == "no such actor")
                #expect(DeadLetters.count >= deadBefore + 2)
                #expect(!recorder.isDead)
                try recorder.shutdown()
            }
        }

        @Test func anAskToAMissingNodeFailsAsDown() throws {
            try withBroker {
                let a = try Node.join(name: uniqueName("a"), broker: Broker.url, downAfter: .seconds(1))
                defer { try? a.leave() }
                let ref = a.ref("recorder", on: uniqueName("ghost"), as: CounterMessage.self)
                do {
                    _ = try ref.ask(timeout: .seconds(60)) { .total($0) } as [Int]
                    Issue.record("an ask to a node that does not exist was answered")
                } catch RemoteError.down(let d) {
                    // Sends are mandatory: the broker returns it at once.
                    #expect(d.reason.contains("not reachable"))
                }
                // The ask is a dead letter here, with the reason.
                #expect(a.deadLetters.contains { $0.reason.contains("NO_ROUTE") && $0.actor == "recorder" })
            }
        }

        /// A send to a node that is not there (never joined, left, killed)
        /// comes back: a dead letter with the reason, and watchers of that
        /// node's actors hear it is down at once.
        @Test func aSendToANodeThatIsNotThereIsReported() throws {
            try withBroker {
                let a = try Node.join(name: uniqueName("a"), broker: Broker.url, downAfter: .seconds(600))
                defer { try? a.leave() }
                let ref = a.ref("recorder", on: uniqueName("ghost"), as: CounterMessage.self)
                let watcher = Watcher()
                try watcher.start()
                _ = watcher.monitor(ref.proxy())
                try ref.send(.add(1, from: a.name))
                // downAfter is 600 s: only the returned send can end the proxy within the guard.
                let down = try watcher.downs.get(timeout: .seconds(300))
                guard case .error(let e) = down.reason, let d = e as? RemoteDown else {
                    Issue.record("unexpected reason \(down.reason)"); return
                }
                #expect(d.reason.contains("not reachable"))
                #expect(a.deadLetters.first?.reason.contains("NO_ROUTE") == true)
                #expect(a.deadLetters.first?.actor == "recorder")
                watcher.stop()
            }
        }

        /// At most once, never twice: the receiving node loses its connection
        /// mid-stream and reconnects; what reaches the actor is in order and
        /// without a duplicate (what was on the way may be lost).
        @Test func aReconnectingNodeNeverDeliversTwice() throws {
            try withBroker {
                let a = try Node.join(name: uniqueName("a"), broker: Broker.url)
                let b = try Node.join(name: uniqueName("b"), broker: Broker.url)
                defer { try? a.leave(); try? b.leave() }
                let recorder = Recorder()
                try recorder.start()
                try b.register(recorder, as: "recorder")
                let ref = a.ref("recorder", on: b.name, as: CounterMessage.self)
                func total() throws -> [Int] {
                    // While b is away its inbox is gone: retry until it is back.
                    for _ in 0..<300 {
                        if let t = try? ref.ask(timeout: .seconds(2), { .total($0) }) as [Int] { return t }
                        try sleep(.milliseconds(100))
                    }
                    throw RemoteError.askTimedOut(node: b.name, actor: "recorder", timeout: .seconds(60))
                }
                for i in 0..<500 { try ref.send(.add(i, from: a.name)) }
                #expect(try total() == Array(0..<500))
                // b's connection drops; a goes on sending while b reconnects.
                b.client.connection?.abort()
                for i in 500..<1500 {
                    try ref.send(.add(i, from: a.name))
                    if i % 50 == 0 { try sleep(.milliseconds(5)) }
                }
                _ = try total()
                for i in 1500..<2000 { try ref.send(.add(i, from: a.name)) }
                let total: [Int]? = try total()
                let seen = try #require(total)
                #expect(b.client.reconnectCount >= 1)
                #expect(seen.starts(with: Array(0..<500)))
                #expect(seen.suffix(500) == Array(1500..<2000)[...])
                #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 }, "a duplicate or a reordering")
                try recorder.shutdown()
            }
        }

        /// An actor that ends on its node: its watchers elsewhere get `.down` at once.
        @Test func aRemoteActorThatEndsIsDown() throws {
            try withBroker {
                let a = try Node.join(name: uniqueName("a"), broker: Broker.url)
                let b = try Node.join(name: uniqueName("b"), broker: Broker.url)
                defer { try? a.leave(); try? b.leave() }
                let recorder = Recorder()
                try recorder.start()
                try b.register(recorder, as: "recorder")
                let watcher = Watcher()
                try watcher.start()
                _ = watcher.monitor(a.ref("recorder", on: b.name, as: CounterMessage.self).proxy())
                try recorder.forceKill()
                let down = try watcher.downs.get(timeout: .seconds(30))
                guard case .error(let e) = down.reason, let d = e as? RemoteDown else {
                    Issue.record("unexpected reason \(down.reason)"); return
                }
                #expect(d.actor == "recorder")
                #expect(d.reason.contains("killed"))
                watcher.stop()
            }
        }

        /// A node killed with SIGKILL: watchers on other nodes get `.down`
        /// (the bound: `downAfter` + one beat after its last beat; not timed here).
        @Test func aNodeKilledWithSIGKILLIsDown() throws {
            try withBroker {
                let pongName = uniqueName("pong")
                let child = try ChildProcess(builtProduct("RemotePingPong").path,
                                             ["pong", "--broker", Broker.url, "--name", pongName], stdout: .null)
                defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
                let a = try Node.join(name: uniqueName("a"), broker: Broker.url)
                defer { try? a.leave() }
                struct Ping: Codable {}
                struct Ball: Codable { var n: Int; var replyTo: String? }  // RemotePingPong's
                // Wait until the child's ponger answers (its node is up).
                final class Catcher: GreenActor<Ball> {
                    let pongs = Queue<Int>()
                    override func receive(_ b: Ball) throws { if b.replyTo == nil { try pongs.put(b.n) } }
                }
                let catcher = Catcher()
                try catcher.start()
                try a.register(catcher, as: "pinger")
                let ponger = a.ref("ponger", on: pongName, as: Ball.self)
                var answered = false
                for i in 0..<600 where !answered {
                    try ponger.send(Ball(n: i, replyTo: a.name))
                    answered = (try? catcher.pongs.get(timeout: .milliseconds(100))) != nil
                }
                #expect(answered)
                let watcher = Watcher()
                try watcher.start()
                _ = watcher.monitor(ponger.proxy())
                kill(child.processIdentifier, SIGKILL)
                let down = try watcher.downs.get(timeout: .seconds(60))
                guard case .error(let e) = down.reason, let d = e as? RemoteDown else {
                    Issue.record("unexpected reason \(down.reason)"); return
                }
                #expect(d.node == pongName)
                #expect(d.reason.contains("vanished"))
                _ = try child.waitUntilExit()
                watcher.stop()
                catcher.stop()
            }
        }
    }
}
