/// WorkloadReports: the keys each workload reports, built from raw measurements.
///
/// Both runtimes build their line here, so green and swift lines carry the same keys in the
/// same order. `idiom` names the Swift-concurrency idiom used (`swift_idiom=...`); the green
/// runtime leaves it nil.
import Histogram

extension Report {
    /// `switch`: `yields seconds ns_per_yield`.
    static func switching(runtime: Runtime, idiom: String? = nil, yields: Int, seconds: Double) -> Report {
        var report = Report(workload: .switch, runtime: runtime, idiom: idiom)
        report.add("yields", yields)
        report.add("seconds", seconds: seconds)
        report.add("ns_per_yield", nanoseconds: seconds * 1e9 / Double(yields))
        return report
    }

    /// `pingpong`: `roundtrips seconds msgs_per_s ns_per_msg p50_ns p99_ns`.
    /// A round trip is two messages; `latencies` holds each round trip in nanoseconds.
    static func pingpong(runtime: Runtime, idiom: String? = nil, roundtrips: Int, seconds: Double,
                         latencies: Histogram<UInt64>) -> Report {
        var report = Report(workload: .pingpong, runtime: runtime, idiom: idiom)
        report.add("roundtrips", roundtrips)
        report.addThroughput(messages: 2 * roundtrips, seconds: seconds)
        report.add("p50_ns", latencies.valueAtPercentile(50))
        report.add("p99_ns", latencies.valueAtPercentile(99))
        return report
    }

    /// `pairs`: `pairs roundtrips seconds msgs_per_s ns_per_msg` (two messages a round trip).
    static func pairs(runtime: Runtime, idiom: String? = nil, pairs: Int, roundtrips: Int, seconds: Double) -> Report {
        var report = Report(workload: .pairs, runtime: runtime, idiom: idiom)
        report.add("pairs", pairs)
        report.add("roundtrips", roundtrips)
        report.addThroughput(messages: 2 * roundtrips, seconds: seconds)
        return report
    }

    /// `oneway`: `msgs seconds msgs_per_s ns_per_msg`.
    static func oneway(runtime: Runtime, idiom: String? = nil, messages: Int, seconds: Double) -> Report {
        var report = Report(workload: .oneway, runtime: runtime, idiom: idiom)
        report.add("msgs", messages)
        report.addThroughput(messages: messages, seconds: seconds)
        return report
    }

    /// `fanin`: `msgs senders seconds msgs_per_s ns_per_msg`.
    static func fanin(runtime: Runtime, idiom: String? = nil, messages: Int, senders: Int,
                      seconds: Double) -> Report {
        var report = Report(workload: .fanin, runtime: runtime, idiom: idiom)
        report.add("msgs", messages)
        report.add("senders", senders)
        report.addThroughput(messages: messages, seconds: seconds)
        return report
    }

    /// `spawn`: `greenlets spawn_and_park_s total_s ns_per_spawn bytes_per_parked`.
    /// `residentGrowth` is the growth of resident memory while all `greenlets` were parked.
    static func spawn(runtime: Runtime, idiom: String? = nil, greenlets: Int, spawnAndParkSeconds: Double,
                      totalSeconds: Double, residentGrowth: Int) -> Report {
        var report = Report(workload: .spawn, runtime: runtime, idiom: idiom)
        report.add("greenlets", greenlets)
        report.add("spawn_and_park_s", seconds: spawnAndParkSeconds)
        report.add("total_s", seconds: totalSeconds)
        report.add("ns_per_spawn", nanoseconds: spawnAndParkSeconds * 1e9 / Double(greenlets))
        report.add("bytes_per_parked", residentGrowth / greenlets)
        return report
    }

    /// `ring`: `hops seconds ns_per_hop`.
    static func ring(runtime: Runtime, idiom: String? = nil, hops: Int, seconds: Double) -> Report {
        var report = Report(workload: .ring, runtime: runtime, idiom: idiom)
        report.add("hops", hops)
        report.add("seconds", seconds: seconds)
        report.add("ns_per_hop", nanoseconds: seconds * 1e9 / Double(hops))
        return report
    }

    /// `skynet`: `actors leaves seconds sum`. Throws `SkynetError` unless `sum` is 0 + 1 + ... + (leaves - 1).
    static func skynet(runtime: Runtime, idiom: String? = nil, leaves: Int, seconds: Double,
                       sum: Int) throws -> Report {
        let expected = leaves * (leaves - 1) / 2
        guard sum == expected else { throw SkynetError(sum: sum, expected: expected) }
        var report = Report(workload: .skynet, runtime: runtime, idiom: idiom)
        report.add("actors", skynetActors(leaves: leaves))
        report.add("leaves", leaves)
        report.add("seconds", seconds: seconds)
        report.add("sum", sum)
        return report
    }

    /// `bridge`: `calls seconds ns_per_call p50_ns p99_ns`; `latencies` holds each call in nanoseconds.
    static func bridge(runtime: Runtime, idiom: String? = nil, calls: Int, seconds: Double,
                       latencies: Histogram<UInt64>) -> Report {
        var report = Report(workload: .bridge, runtime: runtime, idiom: idiom)
        report.addCalls(calls, seconds: seconds, latencies: latencies)
        return report
    }

    /// `green-from-async`: `calls seconds ns_per_call p50_ns p99_ns`, as `bridge`.
    static func greenFromAsync(runtime: Runtime, idiom: String? = nil, calls: Int, seconds: Double,
                               latencies: Histogram<UInt64>) -> Report {
        var report = Report(workload: .greenFromAsync, runtime: runtime, idiom: idiom)
        report.addCalls(calls, seconds: seconds, latencies: latencies)
        return report
    }

    /// `calls seconds ns_per_call p50_ns p99_ns`.
    private mutating func addCalls(_ calls: Int, seconds: Double, latencies: Histogram<UInt64>) {
        add("calls", calls)
        add("seconds", seconds: seconds)
        add("ns_per_call", nanoseconds: seconds * 1e9 / Double(calls))
        add("p50_ns", latencies.valueAtPercentile(50))
        add("p99_ns", latencies.valueAtPercentile(99))
    }

    /// `seconds msgs_per_s ns_per_msg` for `messages` messages delivered in `seconds`.
    private mutating func addThroughput(messages: Int, seconds: Double) {
        add("seconds", seconds: seconds)
        add("msgs_per_s", rounded: Double(messages) / seconds)
        add("ns_per_msg", nanoseconds: seconds * 1e9 / Double(messages))
    }
}

extension Report {
    /// `restart`: `restarts seconds ns_per_restart cpu_ns_per_restart` (a crash
    /// and the restart that follows; the CPU time of the process as well as the
    /// elapsed time, which a loaded machine inflates).
    static func restart(runtime: Runtime, idiom: String? = nil, restarts: Int, seconds: Double,
                        cpuSeconds: Double) -> Report {
        var report = Report(workload: .restart, runtime: runtime, idiom: idiom)
        report.add("restarts", restarts)
        report.add("seconds", seconds: seconds)
        report.add("ns_per_restart", nanoseconds: seconds * 1e9 / Double(restarts))
        report.add("cpu_ns_per_restart", nanoseconds: cpuSeconds * 1e9 / Double(restarts))
        return report
    }
}

extension Report {
    /// `scatter`: `greenlets seconds greenlets_per_s stolen steal`.
    static func scatter(greenlets: Int, seconds: Double, stolen: Int, stealing: Bool) -> Report {
        var report = Report(workload: .scatter, runtime: .green)
        report.add("greenlets", greenlets)
        report.add("seconds", seconds: seconds)
        report.add("greenlets_per_s", Int(Double(greenlets) / seconds))
        report.add("stolen", stolen)
        report.add("steal", stealing ? "on" : "off")
        return report
    }
}

/// An empty histogram for pingpong's round-trip latencies, in nanoseconds (1 ns to 60 s, three
/// significant digits): both runtimes record into one of these.
func makeLatencyHistogram() -> Histogram<UInt64> {
    Histogram(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

/// Actors in a skynet tree of fan-out 10 with `leaves` leaves: 1 + 10 + 100 + ... + leaves.
func skynetActors(leaves: Int) -> Int {
    var total = 0
    var level = leaves
    while level >= 1 {
        total += level
        level /= 10
    }
    return total
}

/// A skynet run whose sum came out wrong.
struct SkynetError: Error, CustomStringConvertible {
    let sum: Int
    let expected: Int
    var description: String { "skynet summed to \(sum), expected \(expected)" }
}
