/// SwiftConcurrencyWorkloads: the seven workloads on Swift concurrency (`--runtime swift`).
///
/// Green threads become Tasks, actors become Tasks each consuming its own `Inbox`
/// (an AsyncStream), and skynet uses the Swift idiom, a tree of task groups. Each report
/// names the idiom in `swift_idiom`. Call from off the main actor (main.swift does).
import Histogram

/// Runs `workload` on Swift concurrency and reports what it measured.
func runSwiftWorkload(_ workload: Workload, count: Int, senders: Int, pairs: Int = 2) async throws -> Report {
    switch workload {
    case .switch: return await yieldingTasks(yieldsEach: count)
    case .pingpong: return await pingpong(roundtrips: count)
    case .oneway:
        let seconds = await deliver(messages: count, senders: 1)
        return .oneway(runtime: .swift, idiom: "asyncstream_inbox", messages: count, seconds: seconds)
    case .fanin:
        let seconds = await deliver(messages: count, senders: senders)
        return .fanin(runtime: .swift, idiom: "asyncstream_inbox", messages: count, senders: senders, seconds: seconds)
    case .spawn: return await parkedTasks(count)
    case .ring: return await ring(hops: count)
    case .skynet: return try await skynet(leaves: count)
    case .pairs: return await independentPairs(roundtrips: count, pairs: pairs)
    case .bridge: return await swiftActorHop(count)
    case .greenFromAsync: return await swiftTaskValue(count)
    case .restart: return await restartLoop(restarts: count)
    case .scatter: fatalError("scatter is a green-runtime workload (validated in main.swift)")
    }
}

/// pairs: `pairs` independent pinger/ponger pairs of Tasks on inboxes, `roundtrips` in all,
/// all pairs at once on Swift's cooperative pool (one thread per core).
private func independentPairs(roundtrips: Int, pairs: Int) async -> Report {
    let clock = Stopwatch()
    await withTaskGroup(of: Void.self) { group in
        for p in 0..<pairs {
            let share = roundtrips / pairs + (p < roundtrips % pairs ? 1 : 0)
            group.addTask {
                let pings = Inbox<Int>()
                let pongs = Inbox<Int>()
                let ponger = Task { for await ball in pings.messages { pongs.send(ball) } }
                var replies = pongs.messages.makeAsyncIterator()
                for ball in 0..<share {
                    pings.send(ball)
                    _ = await replies.next()
                }
                pings.close()
                await ponger.value
            }
        }
    }
    return .pairs(runtime: .swift, idiom: "asyncstream_inbox", pairs: pairs, roundtrips: roundtrips,
                  seconds: clock.elapsedSeconds)
}

/// restart: Swift concurrency has no supervisor; the idiom is a loop that
/// starts a child Task on a fresh inbox, sends it a message it throws on,
/// awaits its failure and starts the next.
private func restartLoop(restarts: Int) async -> Report {
    struct Crash: Error {}
    let clock = Stopwatch()
    let cpu = processCPUNanos()
    var done = 0
    while done < restarts {
        let inbox = AsyncStream<Int>.makeStream()
        let child = Task {
            for await _ in inbox.stream { throw Crash() }
        }
        inbox.continuation.yield(0)
        do { try await child.value } catch { done += 1 }
    }
    let seconds = clock.elapsedSeconds
    return .restart(runtime: .swift, idiom: "task_restart_loop", restarts: done, seconds: seconds,
                    cpuSeconds: Double(processCPUNanos() - cpu) / 1e9)
}

/// switch: two Tasks each call `Task.yield()` `yieldsEach` times.
private func yieldingTasks(yieldsEach: Int) async -> Report {
    let clock = Stopwatch()
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<2 {
            group.addTask {
                for _ in 0..<yieldsEach { await Task.yield() }
            }
        }
    }
    return .switching(runtime: .swift, idiom: "task_yield", yields: 2 * yieldsEach,
                      seconds: clock.elapsedSeconds)
}

/// pingpong: a pinger and a ponger, each a Task on its own inbox; the pinger times each round trip.
private func pingpong(roundtrips: Int) async -> Report {
    let pings = Inbox<Int>()
    let pongs = Inbox<Int>()
    let ponger = Task {
        for await ball in pings.messages { pongs.send(ball) }
    }
    let pinger = Task { () -> (seconds: Double, latencies: Histogram<UInt64>) in
        var latencies = makeLatencyHistogram()
        var replies = pongs.messages.makeAsyncIterator()
        let clock = Stopwatch()
        for ball in 0..<roundtrips {
            let sent = monotonicNanos()
            pings.send(ball)
            _ = await replies.next()
            _ = latencies.record(monotonicNanos() - sent)
        }
        return (clock.elapsedSeconds, latencies)
    }
    let (seconds, latencies) = await pinger.value
    pings.close()
    await ponger.value
    return .pingpong(runtime: .swift, idiom: "asyncstream_inbox", roundtrips: roundtrips, seconds: seconds,
                     latencies: latencies)
}

/// oneway (one sender) and fanin: `senders` Tasks share out `messages` messages into one receiving
/// Task's inbox. Returns the seconds until the receiver has the last one.
private func deliver(messages: Int, senders: Int) async -> Double {
    let inbox = Inbox<Int>()
    let receiver = Task { () -> UInt64 in
        var received = 0
        for await _ in inbox.messages {
            received += 1
            if received == messages { break }
        }
        return monotonicNanos()
    }
    let start = monotonicNanos()
    await withTaskGroup(of: Void.self) { group in
        for sender in 0..<senders {
            let share = messages / senders + (sender < messages % senders ? 1 : 0)
            group.addTask {
                for message in 0..<share { inbox.send(message) }
            }
        }
    }
    let end = await receiver.value
    inbox.close()
    return Double(end - start) / 1e9
}

/// spawn: `count` child Tasks park on one `Gate`; once all are parked, resident memory is read,
/// the gate opens and the Tasks are joined.
private func parkedTasks(_ count: Int) async -> Report {
    let gate = Gate(expected: count)
    let residentBefore = Memory.residentBytes() ?? 0
    let clock = Stopwatch()
    let (spawnAndPark, residentParked) = await withDiscardingTaskGroup { group in
        for _ in 0..<count {
            group.addTask { await gate.park() }
        }
        await gate.allParked()
        let measured = (clock.elapsedSeconds, Memory.residentBytes() ?? 0)
        gate.open()
        return measured
    }
    return .spawn(runtime: .swift, idiom: "continuation_gate", greenlets: count, spawnAndParkSeconds: spawnAndPark,
                  totalSeconds: clock.elapsedSeconds, residentGrowth: residentParked - residentBefore)
}

/// ring: 100 Tasks, each on its own inbox, pass a token of hops left to the next; whoever gets 0
/// closes every inbox.
private func ring(hops: Int, size: Int = 100) async -> Report {
    let inboxes = (0..<size).map { _ in Inbox<Int>() }
    let seconds = await withTaskGroup(of: Void.self) { group in
        for (index, inbox) in inboxes.enumerated() {
            let next = inboxes[(index + 1) % size]
            group.addTask {
                for await hopsLeft in inbox.messages {
                    if hopsLeft == 0 {
                        inboxes.forEach { $0.close() }
                    } else {
                        next.send(hopsLeft - 1)
                    }
                }
            }
        }
        let clock = Stopwatch()
        inboxes[0].send(hops)
        await group.waitForAll()
        return clock.elapsedSeconds
    }
    return .ring(runtime: .swift, idiom: "asyncstream_inbox", hops: hops, seconds: seconds)
}

/// skynet: a tree of task groups with fan-out 10 sums 0..<leaves.
private func skynet(leaves: Int) async throws -> Report {
    let clock = Stopwatch()
    let sum = await skynetNode(first: 0, size: leaves)
    return try .skynet(runtime: .swift, idiom: "task_group", leaves: leaves, seconds: clock.elapsedSeconds, sum: sum)
}

/// One node of the skynet tree: the sum of `first..<first + size`, one child Task per tenth.
private func skynetNode(first: Int, size: Int) async -> Int {
    guard size > 1 else { return first }
    let childSize = size / 10
    return await withTaskGroup(of: Int.self) { group in
        for child in 0..<10 {
            group.addTask { await skynetNode(first: first + child * childSize, size: childSize) }
        }
        return await group.reduce(0, +)
    }
}
