// Ping-pong between two processes through a RabbitMQ broker: remote actors.
//
//   swift run RemotePingPong pong --broker amqp://127.0.0.1
//   swift run RemotePingPong ping --broker amqp://127.0.0.1 --count 10000
//
// ping's last line: roundtrips=N seconds=S roundtrips_per_s=R. If the pong
// node dies, ping says so and exits with status 1 within a few seconds
// (the node's stated bound: 2 s of silence plus one 250 ms beat).
import ArgumentParser
import Foundation
import Green
import GreenActors
import GreenRemote

/// A ball: a ping carries the node to answer (`replyTo`), a pong does not.
/// A flat struct, the same shape as pika_pingpong.py's `[n, reply_to]` and
/// `n` (Foundation decodes an enum with payloads through nested containers
/// and a scan of all keys: about three times the work).
struct Ball: Codable {
    var n: Int
    var replyTo: String?

    static func ping(_ n: Int, replyTo: String) -> Ball { Ball(n: n, replyTo: replyTo) }
    static func pong(_ n: Int) -> Ball { Ball(n: n, replyTo: nil) }
}

/// Answers each ping to the node it came from.
final class Ponger: GreenActor<Ball> {
    let node: Node
    init(node: Node) { self.node = node; super.init(name: "ponger") }
    override func receive(_ ball: Ball) throws {
        guard let from = ball.replyTo else { return }
        try node.ref("pinger", on: from, as: Ball.self).send(.pong(ball.n))
    }
}

/// Serves `count` balls, `inflight` at a time, and watches the ponger.
final class Pinger: GreenActor<Ball> {
    let node: Node
    let ponger: RemoteActorRef<Ball>
    let count: Int
    let inflight: Int
    private var sent = 0
    private var received = 0
    private(set) var failure: String?

    init(node: Node, pongNode: String, count: Int, inflight: Int) {
        self.node = node
        ponger = node.ref("ponger", on: pongNode)
        self.count = count
        self.inflight = inflight
        super.init(name: "pinger")
    }

    override func willStart() throws {
        _ = monitor(ponger.proxy())
        while sent < min(inflight, count) { try serve() }
    }

    private func serve() throws {
        sent += 1
        try ponger.send(.ping(sent, replyTo: node.name))
    }

    override func receive(_ ball: Ball) throws {
        guard ball.replyTo == nil else { return }
        received += 1
        if received == count { return stop() }
        if sent < count { try serve() }
    }

    override func handleDown(_ signal: DownSignal) throws {
        failure = "\(signal.reason)"
        stop()
    }
}

@main
struct RemotePingPong: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ping-pong between two processes' actors through an AMQP broker.",
        subcommands: [Pong.self, Ping.self])

    struct Pong: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Host the ponger (runs until killed).")
        @Option(help: "The broker, amqp://user:password@host:port/vhost") var broker = "amqp://127.0.0.1"
        @Option(help: "This node's name") var name = "pong"

        func run() throws {
            let node = try Node.join(name: name, broker: broker)
            let ponger = Ponger(node: node)
            try ponger.start()
            try node.register(ponger, as: "ponger")
            print("pong node '\(name)' ready")
            fflush(stdout)
            try ponger.join()
        }
    }

    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve balls to the ponger and time the round trips.")
        @Option(help: "The broker, amqp://user:password@host:port/vhost") var broker = "amqp://127.0.0.1"
        @Option(help: "The pong node's name") var pong = "pong"
        @Option(help: "Round trips") var count = 1000
        @Option(help: "Balls in flight at once") var inflight = 1

        func run() throws {
            let node = try Node.join(name: "ping-\(getpid())", broker: broker)
            let pinger = Pinger(node: node, pongNode: pong, count: count, inflight: max(1, inflight))
            try node.register(pinger, as: "pinger")
            let start = ContinuousClock.now
            try pinger.start()
            try pinger.join()
            let elapsed = (ContinuousClock.now - start).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
            if let failure = pinger.failure {
                print("the pong node is down: \(failure)")
                fflush(stdout)
                Foundation.exit(1)
            }
            try node.leave()
            print(String(format: "roundtrips=%d seconds=%.3f roundtrips_per_s=%.0f", count, seconds, Double(count) / seconds))
        }
    }
}
