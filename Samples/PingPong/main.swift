// The seeds' Pinger and Ponger: two actors bounce a ball through their inboxes.
//
//   swift run PingPong                  # 10 rounds, printed
//   swift run -c release PingPong --count 1000000 --quiet
//   swift run PingPong --supervised --crash-every 3
//   swift run -c release PingPong --hubs 2 --count 1000000 --quiet   # pinger and ponger on two cores
import ArgumentParser
import Green
import GreenActors

enum Ball {
    case ping(Int, from: GreenActor<Ball>)
    case pong(Int)
}

/// Answers every ping; in supervised mode it crashes on every K-th ball it gets.
final class Ponger: GreenActor<Ball> {
    let crashEvery: Int?
    let quiet: Bool
    private var received = 0

    init(crashEvery: Int?, quiet: Bool) {
        self.crashEvery = crashEvery
        self.quiet = quiet
        super.init(name: "ponger")
    }

    override func receive(_ ball: Ball) throws {
        guard case .ping(let n, let pinger) = ball else { return }
        received += 1
        if let k = crashEvery, received % k == 0 { throw Crash(n: n) }
        if !quiet { print("pong \(n)") }
        try pinger.send(.pong(n))
    }

    struct Crash: Error, CustomStringConvertible {
        let n: Int
        var description: String { "ponger crashed on ball \(n)" }
    }
}

/// Serves `count` balls to whoever is registered as "ponger"; when the ponger
/// dies (supervised mode), waits for its successor and serves the lost ball again.
final class Pinger: GreenActor<Ball> {
    let count: Int
    let quiet: Bool
    private(set) var crashesSeen = 0

    init(count: Int, quiet: Bool) {
        self.count = count
        self.quiet = quiet
        super.init(name: "pinger")
    }

    override func willStart() throws { try serve(1) }

    override func receive(_ ball: Ball) throws {
        guard case .pong(let n) = ball else { return }
        if n == count { return stop() }
        try serve(n + 1)
    }

    override func handleDown(_ signal: DownSignal) throws {
        crashesSeen += 1
        ponger = nil // look the successor up in the registry
        if !quiet { print("ponger down (\(signal.reason)), waiting for the supervisor's restart") }
        guard case .error(let e) = signal.reason, let crash = e as? Ponger.Crash else { return }
        try serve(crash.n)
    }

    private func serve(_ n: Int) throws {
        if !quiet { print("ping \(n)") }
        try currentPonger().send(.ping(n, from: self))
    }

    /// The ponger, looked up in the registry only at the start and after a down.
    private func currentPonger() throws -> GreenActor<Ball> {
        if let ponger { return ponger }
        // After a crash the supervisor's restart may not have run yet.
        var found = Registry.shared.lookup("ponger", as: Ball.self)
        while found == nil {
            try sleep(.milliseconds(1))
            found = Registry.shared.lookup("ponger", as: Ball.self)
        }
        monitor(found!) // to hear of its crash and serve the lost ball again
        ponger = found
        return found!
    }
    private var ponger: GreenActor<Ball>?
}

@main
struct PingPong: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Two actors play ping-pong through their inboxes, then report the message rate.")

    @Option(help: "Round trips to play.")
    var count = 10

    @Flag(help: "Print only the figure.")
    var quiet = false

    @Flag(help: "Run the ponger under a supervisor and make it crash every --crash-every balls.")
    var supervised = false

    @Option(help: "With --supervised: the ponger crashes on every K-th ball it receives.")
    var crashEvery = 4

    @Option(help: "Hubs (threads): with 2 or more, the pinger plays on hub 0 and the ponger on hub 1.")
    var hubs = 1

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
        guard hubs >= 1 && hubs <= 256 else { throw ValidationError("--hubs must be between 1 and 256") }
        guard crashEvery > 1 else { throw ValidationError("--crash-every must be at least 2") }
    }

    func run() throws {
        let quiet = self.quiet
        // With several hubs the calling thread is hub 0 (the pinger's, and the
        // supervisor's); the ponger is placed on hub 1.
        let runtime = hubs > 1 ? try GreenRuntime(hubs: hubs, includingCallingThread: true) : nil
        defer { runtime?.stop() }
        func makePonger(crashEvery: Int?) -> Ponger {
            guard let runtime else { return Ponger(crashEvery: crashEvery, quiet: quiet) }
            return runtime.withPlacement(.hub(1)) { Ponger(crashEvery: crashEvery, quiet: quiet) }
        }
        var supervisor: Supervisor?
        if supervised {
            let crashEvery = self.crashEvery
            let spec = ChildSpec(id: "ponger") {
                let p = makePonger(crashEvery: crashEvery)
                try Registry.shared.register("ponger", p)
                try p.start()
                return p
            }
            let s = Supervisor(name: "ponger-sup", strategy: .oneForOne, maxRestarts: Int.max, within: .seconds(1), children: [spec])
            try s.start()
            supervisor = s
        } else {
            let p = makePonger(crashEvery: nil)
            try Registry.shared.register("ponger", p)
            try p.start()
        }
        let start = ContinuousClock.now
        let pinger = Pinger(count: count, quiet: quiet)
        try pinger.start()
        try pinger.join()
        let elapsed = ContinuousClock.now - start
        if let e = pinger.error { throw e }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let rate = Double(count * 2) / seconds
        if quiet {
            print("\(Int(rate)) msgs/s")
        } else {
            print("\(count) round trips, \(count * 2) messages in \(elapsed): \(Int(rate)) messages a second")
        }
        if let supervisor {
            print("restarts seen: \(supervisor.restartCount)")
            try supervisor.shutdown()
        } else {
            Registry.shared.lookup("ponger", as: Ball.self)?.stop()
        }
    }
}
