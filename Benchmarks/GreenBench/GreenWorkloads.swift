/// GreenWorkloads: the workloads on Green's runtime (`--runtime green`), one hub.
/// Each builds its line with the shared `Report` builders, so both runtimes print the same keys.
import Green
import GreenActors
import Histogram

/// Runs `workload` on green threads and actors and reports what it measured.
func runGreenWorkload(_ workload: Workload, count: Int, senders: Int, pairs: Int, hubs: Int,
                      executor: BridgeExecutor? = nil, stealing: Bool = true) throws -> Report {
    if hubs > 1 || workload == .pairs {
        return try runMultiHubWorkload(workload, count: count, senders: senders, pairs: pairs, hubs: hubs,
                                       executor: executor, stealing: stealing)
    }
    switch workload {
    case .switch: return try greenSwitch(count)
    case .pingpong: return try greenPingPong(count)
    case .oneway: return try greenOneWay(count)
    case .fanin: return try greenFanIn(count, senders: senders)
    case .spawn: return try greenSpawn(count)
    case .ring: return try greenRing(count)
    case .skynet: return try greenSkynet(leaves: count)
    case .pairs: fatalError("pairs runs on a runtime")
    case .scatter: fatalError("scatter runs on a runtime of two hubs or more")
    case .bridge: return try greenBridge(count, executor: executor ?? .hub)
    case .greenFromAsync: return try greenFromAsync(count, executor: executor ?? .global)
    case .restart: return try greenRestart(count)
    }
}

private func greenSwitch(_ n: Int) throws -> Report {
    let a = spawn { for _ in 0..<n { try yieldGreenlet() } }
    let b = spawn { for _ in 0..<n { try yieldGreenlet() } }
    try yieldGreenlet() // both started
    let watch = Stopwatch()
    try joinAll([a, b])
    return .switching(runtime: .green, yields: 2 * n, seconds: watch.elapsedSeconds)
}

/// Answers each ball by sending it back.
private final class Echoer: GreenActor<Int> {
    var peer: GreenActor<Int>!
    override func receive(_ n: Int) throws { try peer.send(n) }
}

/// Serves `count` balls, timing each round trip.
private final class Server: GreenActor<Int> {
    let count: Int
    var peer: GreenActor<Int>!
    var histogram = makeLatencyHistogram()
    var sentAt: UInt64 = 0
    init(count: Int) { self.count = count; super.init(name: "server") }
    override func willStart() throws { sentAt = monotonicNanos(); try peer.send(1) }
    override func receive(_ n: Int) throws {
        let now = monotonicNanos()
        _ = histogram.record(now - sentAt)
        if n == count { peer.stop(); return stop() }
        sentAt = now
        try peer.send(n + 1)
    }
}

private func greenPingPong(_ n: Int) throws -> Report {
    let echo = Echoer(name: "echo")
    let server = Server(count: n)
    echo.peer = server
    server.peer = echo
    try echo.start()
    let watch = Stopwatch()
    try server.start()
    try server.join()
    let seconds = watch.elapsedSeconds
    try echo.join()
    return .pingpong(runtime: .green, roundtrips: n, seconds: seconds, latencies: server.histogram)
}

/// Counts messages; stops after `expected`.
private final class Sink: GreenActor<Int> {
    let expected: Int
    var received = 0
    init(expected: Int) { self.expected = expected; super.init(name: "sink") }
    override func receive(_ n: Int) throws {
        received &+= 1
        if received == expected { stop() }
    }
}

private func greenOneWay(_ n: Int) throws -> Report {
    let sink = Sink(expected: n)
    try sink.start()
    try yieldGreenlet() // parked on its inbox
    let watch = Stopwatch()
    for i in 0..<n { try sink.send(i) }
    try sink.join()
    return .oneway(runtime: .green, messages: n, seconds: watch.elapsedSeconds)
}

private func greenFanIn(_ n: Int, senders: Int) throws -> Report {
    let sink = Sink(expected: n)
    try sink.start()
    let per = n / senders
    let extra = n % senders
    let watch = Stopwatch()
    let gs = (0..<senders).map { s in
        spawn { for i in 0..<(per + (s < extra ? 1 : 0)) { try sink.send(i) } }
    }
    try sink.join()
    let seconds = watch.elapsedSeconds
    try joinAll(gs)
    return .fanin(runtime: .green, messages: n, senders: senders, seconds: seconds)
}

private func greenSpawn(_ n: Int) throws -> Report {
    let gate = WaitList()
    let before = residentBytes()
    let watch = Stopwatch()
    var gs: [Greenlet<Void>] = []
    gs.reserveCapacity(n)
    for _ in 0..<n { gs.append(spawn { _ = try gate.wait() }) }
    try yieldGreenlet() // every greenlet runs until it parks
    let parked = watch.elapsedSeconds
    let growth = residentBytes() - before
    gate.wakeAll()
    try joinAll(gs)
    return .spawn(runtime: .green, greenlets: n, spawnAndParkSeconds: parked,
                  totalSeconds: watch.elapsedSeconds, residentGrowth: growth)
}

/// One node of the ring: passes the token on until no hops are left.
private final class RingNode: GreenActor<Int> {
    var next: RingNode!
    var finished: (() -> Void)?
    override func receive(_ hopsLeft: Int) throws {
        if hopsLeft == 0 { finished?(); return }
        try next.send(hopsLeft - 1)
    }
}

private func greenRing(_ hops: Int) throws -> Report {
    let nodes = (0..<100).map { RingNode(name: "ring-\($0)") }
    for i in nodes.indices { nodes[i].next = nodes[(i + 1) % nodes.count] }
    let done = WaitList()
    var finished = false
    for node in nodes {
        node.finished = { finished = true; done.wakeAll() }
        try node.start()
    }
    try yieldGreenlet()
    let watch = Stopwatch()
    try nodes[0].send(hops)
    while !finished { _ = try done.wait() }
    let seconds = watch.elapsedSeconds
    for node in nodes { node.stop() }
    try joinAll(nodes)
    return .ring(runtime: .green, hops: hops, seconds: seconds)
}

/// Skynet: each greenlet spawns ten children (on its own hub) and sums their results.
func skynet(_ num: Int, _ size: Int) throws -> Int {
    if size == 1 { return num }
    let step = size / 10
    let children = (0..<10).map { i in spawn { try skynet(num + i * step, step) } }
    var sum = 0
    for c in children { sum += try c.get() }
    return sum
}

private func greenSkynet(leaves: Int) throws -> Report {
    let watch = Stopwatch()
    let sum = try skynet(0, leaves)
    return try .skynet(runtime: .green, leaves: leaves, seconds: watch.elapsedSeconds, sum: sum)
}

/// Crashes on every message it gets.
private final class Crasher: GreenActor<Int> {
    struct Crash: Error {}
    override func receive(_ n: Int) throws { throw Crash() }
}

/// A one-for-one supervisor restarts its permanent child `n` times: each cycle
/// sends the child a message it crashes on, and waits for its successor. The
/// intensity allows every restart within an hour, so the supervisor's restart
/// history holds them all (as Erlang's does with the same settings).
private func greenRestart(_ n: Int) throws -> Report {
    let started = WaitList()
    var current: Crasher?
    let spec = ChildSpec(id: "crasher", shutdown: .brutalKill) {
        let child = Crasher(name: "crasher")
        try child.start()
        current = child
        started.wakeOne()
        return child
    }
    let supervisor = Supervisor(name: "restarter", strategy: .oneForOne, maxRestarts: n + 1,
                                within: .seconds(3600), children: [spec])
    try supervisor.start()
    while current == nil { _ = try started.wait() }
    let watch = Stopwatch()
    let cpu = processCPUNanos()
    for _ in 0..<n {
        let child = current!
        current = nil
        try child.send(0)
        while current == nil { _ = try started.wait() }
    }
    let seconds = watch.elapsedSeconds
    let cpuSeconds = Double(processCPUNanos() - cpu) / 1e9
    try supervisor.shutdown()
    return .restart(runtime: .green, restarts: supervisor.restartCount, seconds: seconds, cpuSeconds: cpuSeconds)
}
