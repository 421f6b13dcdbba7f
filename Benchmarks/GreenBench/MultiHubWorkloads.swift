/// MultiHubWorkloads: the workloads on a `GreenRuntime` of several hubs (`--hubs N`, N ≥ 2),
/// and `pairs` on any number of hubs.
///
/// The calling thread is hub 0 (`includingCallingThread`). Placement per workload:
/// - pingpong: the server on hub 0, the echoer on hub 1 (every message crosses cores);
/// - oneway: the sender on hub 0, the sink on hub 1; fanin: the sink on hub 0, the senders on
///   the other hubs;
/// - pairs: pair i on hub i mod N (pairs never cross: this measures scaling);
/// - ring: the 100 nodes in N contiguous blocks, so N hops per lap cross hubs;
/// - switch and spawn: each hub runs its share locally; the line reports the total;
/// - skynet: the root's ten children spread over the hubs; everything below stays local;
/// - bridge, green-from-async and restart: as on one hub, on hub 0;
/// - scatter: hub 1 busy in a greenlet that does not yield; hub 0 spawns fire-and-forget
///   greenlets `.leastLoaded` (those placed on hub 1 run only when hub 0 steals them, or when
///   hub 1 is free again).
import Glibc
import Atomics
import Green
import GreenActors
import Histogram

/// Runs `workload` on `hubs` hubs (the calling thread is hub 0).
func runMultiHubWorkload(_ workload: Workload, count: Int, senders: Int, pairs: Int, hubs: Int,
                         executor: BridgeExecutor? = nil, stealing: Bool = true) throws -> Report {
    let runtime = try GreenRuntime(hubs: hubs, includingCallingThread: true, stealing: stealing)
    defer { runtime.stop() }
    var report: Report
    switch workload {
    case .switch: report = try hubsSwitch(runtime, count)
    case .pingpong: report = try hubsPingPong(runtime, count)
    case .oneway: report = try hubsOneWay(runtime, count)
    case .fanin: report = try hubsFanIn(runtime, count, senders: senders)
    case .spawn: report = try hubsSpawn(runtime, count)
    case .ring: report = try hubsRing(runtime, count)
    case .skynet: report = try hubsSkynet(runtime, leaves: count)
    case .pairs: report = try hubsPairs(runtime, roundtrips: count, pairs: pairs)
    case .scatter: report = try hubsScatter(runtime, count)
    case .bridge, .greenFromAsync, .restart:
        // The bridge (one hub and Swift's pool) and a supervisor's restarts run on hub 0.
        report = try runGreenWorkload(workload, count: count, senders: senders, pairs: pairs, hubs: 1,
                                      executor: executor)
    }
    report.add("hubs", hubs)
    return report
}

/// Answers each ball by sending it back.
private final class Echo: GreenActor<Int> {
    var peer: GreenActor<Int>!
    override func receive(_ n: Int) throws { try peer.send(n) }
}

/// Serves `count` balls to `peer`; with `timed`, records each round trip.
private final class PairServer: GreenActor<Int> {
    let count: Int
    let timed: Bool
    var peer: GreenActor<Int>!
    var histogram = makeLatencyHistogram()
    var sentAt: UInt64 = 0
    init(count: Int, timed: Bool) {
        self.count = count
        self.timed = timed
        super.init(name: "server")
    }
    override func willStart() throws {
        if timed { sentAt = monotonicNanos() }
        try peer.send(1)
    }
    override func receive(_ n: Int) throws {
        if timed {
            let now = monotonicNanos()
            _ = histogram.record(now - sentAt)
            sentAt = now
        }
        if n == count { peer.stop(); return stop() }
        try peer.send(n + 1)
    }
}

/// Starts a ping-pong pair with the server on `serverHub` and the echoer on `echoHub`.
private func startPair(_ runtime: GreenRuntime, count: Int, timed: Bool, serverHub: Int, echoHub: Int)
    throws -> (PairServer, Echo)
{
    let echo = runtime.withPlacement(.hub(echoHub)) { Echo(name: "echo") }
    let server = runtime.withPlacement(.hub(serverHub)) { PairServer(count: count, timed: timed) }
    echo.peer = server
    server.peer = echo
    try echo.start()
    return (server, echo)
}

private func hubsPingPong(_ runtime: GreenRuntime, _ n: Int) throws -> Report {
    let (server, echo) = try startPair(runtime, count: n, timed: true, serverHub: 0, echoHub: 1)
    try echo.join(timeout: .zero) // let the echoer park on its inbox first (a round trip to its hub)
    let watch = Stopwatch()
    try server.start()
    try server.join()
    let seconds = watch.elapsedSeconds
    try echo.join()
    return .pingpong(runtime: .green, roundtrips: n, seconds: seconds, latencies: server.histogram)
}

private func hubsPairs(_ runtime: GreenRuntime, roundtrips: Int, pairs: Int) throws -> Report {
    let hubs = runtime.hubs.count
    let per = roundtrips / pairs
    let started = try (0..<pairs).map { i in
        try startPair(runtime, count: per + (i < roundtrips % pairs ? 1 : 0), timed: false,
                      serverHub: i % hubs, echoHub: i % hubs)
    }
    for (_, echo) in started { try echo.join(timeout: .zero) }
    let watch = Stopwatch()
    for (server, _) in started { try server.start() }
    for (server, _) in started { try server.join() }
    let seconds = watch.elapsedSeconds
    for (_, echo) in started { try echo.join() }
    return .pairs(runtime: .green, pairs: pairs, roundtrips: roundtrips, seconds: seconds)
}

/// Counts messages; stops after `expected`.
private final class Counter: GreenActor<Int> {
    let expected: Int
    var received = 0
    init(expected: Int) { self.expected = expected; super.init(name: "sink") }
    override func receive(_ n: Int) throws {
        received &+= 1
        if received == expected { stop() }
    }
}

private func hubsOneWay(_ runtime: GreenRuntime, _ n: Int) throws -> Report {
    let sink = try runtime.start(on: .hub(1)) { Counter(expected: n) }
    try sink.join(timeout: .zero)
    let watch = Stopwatch()
    for i in 0..<n { try sink.send(i) }
    try sink.join()
    return .oneway(runtime: .green, messages: n, seconds: watch.elapsedSeconds)
}

private func hubsFanIn(_ runtime: GreenRuntime, _ n: Int, senders: Int) throws -> Report {
    let sink = try runtime.start(on: .hub(0)) { Counter(expected: n) }
    let per = n / senders
    let extra = n % senders
    let others = runtime.hubs.count - 1
    let gate = Event()
    let gs = try (0..<senders).map { s in
        try runtime.spawn(on: .hub(1 + s % others)) {
            try gate.wait()
            for i in 0..<(per + (s < extra ? 1 : 0)) { try sink.send(i) }
        }
    }
    for h in runtime.hubs.dropFirst() { try h.call {} } // every sender is waiting on the gate
    let watch = Stopwatch()
    gate.set()
    try sink.join()
    let seconds = watch.elapsedSeconds
    try joinAll(gs)
    return .fanin(runtime: .green, messages: n, senders: senders, seconds: seconds)
}

private func hubsSwitch(_ runtime: GreenRuntime, _ n: Int) throws -> Report {
    let hubs = runtime.hubs.count
    let gate = Event()
    let gs = try (0..<(2 * hubs)).map { i in
        try runtime.spawn(on: .hub(i / 2)) {
            try gate.wait()
            for _ in 0..<n { try yieldGreenlet() }
        }
    }
    for h in runtime.hubs.dropFirst() { try h.call {} }
    try yieldGreenlet()
    let watch = Stopwatch()
    gate.set()
    try joinAll(gs)
    return .switching(runtime: .green, yields: 2 * n * hubs, seconds: watch.elapsedSeconds)
}

private func hubsSpawn(_ runtime: GreenRuntime, _ n: Int) throws -> Report {
    let hubs = runtime.hubs.count
    let before = residentBytes()
    let watch = Stopwatch()
    // Each hub spawns its share of greenlets, which park on a hub-local list.
    let spawners = try (0..<hubs).map { h in
        try runtime.spawn(on: .hub(h)) { () -> (WaitList, [Greenlet<Void>]) in
            let gate = WaitList()
            let share = n / hubs + (h < n % hubs ? 1 : 0)
            var gs: [Greenlet<Void>] = []
            gs.reserveCapacity(share)
            for _ in 0..<share { gs.append(spawn { _ = try gate.wait() }) }
            try yieldGreenlet() // every greenlet runs until it parks
            return (gate, gs)
        }
    }
    let parkedSets = try spawners.map { try $0.get() }
    let parked = watch.elapsedSeconds
    let growth = residentBytes() - before
    for (h, (gate, gs)) in parkedSets.enumerated() {
        try runtime.hubs[h].call {
            gate.wakeAll()
            try joinAll(gs)
        }
    }
    return .spawn(runtime: .green, greenlets: n, spawnAndParkSeconds: parked,
                  totalSeconds: watch.elapsedSeconds, residentGrowth: growth)
}

/// Hub 1 busy (a greenlet spinning without yielding until every greenlet ran, at most
/// `scatterBusyCapNanos`), hub 0 spawning `n` fire-and-forget greenlets `.leastLoaded`:
/// the seconds from the first spawn until all have run.
private func hubsScatter(_ runtime: GreenRuntime, _ n: Int) throws -> Report {
    let ran = ManagedAtomic<Int>(0)
    let busySpinning = ManagedAtomic<Bool>(false)
    let busy = try runtime.spawn(on: .hub(1), name: "busy") {
        busySpinning.store(true, ordering: .releasing)
        let deadline = monotonicNanos() + scatterBusyCapNanos
        while ran.load(ordering: .acquiring) < n && monotonicNanos() < deadline { sched_yield() }
    }
    while !busySpinning.load(ordering: .acquiring) { sched_yield() }
    let allRan = Event()
    let watch = Stopwatch()
    for _ in 0..<n {
        try runtime.spawn(on: .leastLoaded) {
            if ran.wrappingIncrementThenLoad(ordering: .acquiringAndReleasing) == n { allRan.set() }
        }
    }
    try allRan.wait()
    let seconds = watch.elapsedSeconds
    try busy.join()
    return .scatter(greenlets: n, seconds: seconds, stolen: runtime.hubs[0].stolenGreenletCount,
                    stealing: runtime.stealing)
}

/// How long scatter's busy greenlet spins at most (so that `--no-steal` ends).
private let scatterBusyCapNanos: UInt64 = 1_000_000_000

/// One node of the ring: passes the token on until no hops are left.
private final class Node: GreenActor<Int> {
    var next: Node!
    var finished: Event!
    override func receive(_ hopsLeft: Int) throws {
        if hopsLeft == 0 { finished.set(); return }
        try next.send(hopsLeft - 1)
    }
}

private func hubsRing(_ runtime: GreenRuntime, _ hops: Int) throws -> Report {
    let size = 100
    let hubs = runtime.hubs.count
    let done = Event()
    let nodes = (0..<size).map { i in
        runtime.withPlacement(.hub(i * hubs / size)) { Node(name: "ring-\(i)") }
    }
    for i in nodes.indices {
        nodes[i].next = nodes[(i + 1) % size]
        nodes[i].finished = done
        try nodes[i].start()
    }
    for h in runtime.hubs.dropFirst() { try h.call {} }
    try yieldGreenlet()
    let watch = Stopwatch()
    try nodes[0].send(hops)
    try done.wait()
    let seconds = watch.elapsedSeconds
    for node in nodes { node.stop() }
    try joinAll(nodes)
    return .ring(runtime: .green, hops: hops, seconds: seconds)
}

private func hubsSkynet(_ runtime: GreenRuntime, leaves: Int) throws -> Report {
    let hubs = runtime.hubs.count
    let watch = Stopwatch()
    let step = leaves / 10
    let children = try (0..<10).map { i in
        try runtime.spawn(on: .hub(i % hubs)) { try skynet(i * step, step) }
    }
    var sum = 0
    for c in children { sum += try c.get() }
    return try .skynet(runtime: .green, leaves: leaves, seconds: watch.elapsedSeconds, sum: sum)
}
