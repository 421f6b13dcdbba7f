import Foundation
import Green
import GreenActors
import GreenAMQP
import GreenRemote
import Testing

/// Keeps the actors a node's factory made, newest last.
final class Made {
    var recorders: [Recorder] = []
}

extension BrokerTests {
    /// A supervisor on one node restarting a child that runs on another.
    @Suite struct RemoteSupervisionTests {
        /// Waits (a guard of 60 s, not a timing check) until `supervisor`'s
        /// child `id` is a live greenlet other than `old`.
        func newChild(of supervisor: Supervisor, _ id: String, other old: AnyGreenlet?) throws -> AnyGreenlet {
            for _ in 0..<600 {
                if let g = supervisor.child(id), g !== old, !g.isDead { return g }
                try sleep(.milliseconds(100))
            }
            throw RemoteError.noNodeStarted(child: id, failures: ["no new child within the guard"])
        }

        func total(_ boss: Node, _ proxy: AnyGreenlet) throws -> [Int] {
            let address = try #require(boss.remoteChildAddress(of: proxy))
            return try boss.ref(address.actor, on: address.node, as: CounterMessage.self)
                .ask(timeout: .seconds(30)) { .total($0) }
        }

        @Test func aRemoteChildThatDiesIsRestartedThroughItsNode() throws {
            try withBroker {
                let boss = try Node.join(name: uniqueName("boss"), broker: Broker.url)
                let worker = try Node.join(name: uniqueName("worker"), broker: Broker.url)
                defer { try? boss.leave(); try? worker.leave() }
                let made = Made()
                worker.spawnable("recorder") { () -> Recorder in
                    let r = Recorder()
                    made.recorders.append(r)
                    return r
                }
                let sup = Supervisor(maxRestarts: 5, within: .seconds(60),
                                     children: [boss.remoteChild(id: "rec", kind: "recorder", on: [worker.name])])
                try sup.start()
                let first = try newChild(of: sup, "rec", other: nil)
                #expect(boss.remoteChildAddress(of: first)?.node == worker.name)
                let address = try #require(boss.remoteChildAddress(of: first))
                try boss.ref(address.actor, on: address.node, as: CounterMessage.self).send(.add(7, from: boss.name))
                #expect(try total(boss, first) == [7])
                #expect(made.recorders.count == 1)

                // The remote actor crashes: the supervisor starts a fresh one there.
                try made.recorders[0].forceKill()
                let second = try newChild(of: sup, "rec", other: first)
                #expect(try total(boss, second) == [])
                #expect(made.recorders.count == 2)
                #expect(sup.restartCount == 1)
                #expect(boss.remoteChildAddress(of: second)?.actor != address.actor)

                // Terminating the child shuts the remote actor down.
                #expect(try sup.terminateChild("rec"))
                for _ in 0..<600 where !made.recorders[1].isDead { try sleep(.milliseconds(100)) }
                #expect(made.recorders[1].isDead)
                try sup.shutdown()
            }
        }

        @Test func aRemoteChildMovesToTheNextNodeWhenItsNodeGoes() throws {
            try withBroker {
                let boss = try Node.join(name: uniqueName("boss"), broker: Broker.url)
                let w1 = try Node.join(name: uniqueName("w1"), broker: Broker.url)
                let w2 = try Node.join(name: uniqueName("w2"), broker: Broker.url)
                defer { try? boss.leave(); try? w1.leave(); try? w2.leave() }
                let onW1 = Made()
                w1.spawnable("recorder") { () -> Recorder in
                    let r = Recorder()
                    onW1.recorders.append(r)
                    return r
                }
                w2.spawnable("recorder") { Recorder() }
                let sup = Supervisor(maxRestarts: 5, within: .seconds(60),
                                     children: [boss.remoteChild(id: "rec", kind: "recorder", on: [w1.name, w2.name])])
                try sup.start()
                let first = try newChild(of: sup, "rec", other: nil)
                #expect(boss.remoteChildAddress(of: first)?.node == w1.name)
                try w1.leave()
                let second = try newChild(of: sup, "rec", other: first)
                #expect(boss.remoteChildAddress(of: second)?.node == w2.name)
                // The node that left shut down what it ran for the supervisor.
                for _ in 0..<600 where !onW1.recorders[0].isDead { try sleep(.milliseconds(100)) }
                #expect(onW1.recorders[0].isDead)
                #expect(try total(boss, second) == [])
                try sup.shutdown()
            }
        }

        @Test func aKindTheNodeDoesNotOfferFailsTheStart() throws {
            try withBroker {
                let boss = try Node.join(name: uniqueName("boss"), broker: Broker.url)
                let worker = try Node.join(name: uniqueName("worker"), broker: Broker.url)
                defer { try? boss.leave(); try? worker.leave() }
                let sup = Supervisor(children: [boss.remoteChild(id: "x", kind: "nothing", on: [worker.name])])
                try? sup.start()
                _ = try? sup.join(timeout: .seconds(60))
                #expect(sup.isDead)
                if case .childStartFailed(_, let e)? = sup.error as? SupervisorError {
                    #expect("\(e)".contains("no spawnable kind 'nothing'"))
                } else {
                    Issue.record("ended with \(String(describing: sup.error))")
                }
            }
        }
    }
}
