/// green-bench: runs one benchmark workload on Green or on Swift concurrency and prints one line
/// of `key=value` pairs, e.g.
/// `workload=pingpong runtime=green roundtrips=1000000 seconds=0.0213 msgs_per_s=93896713 ns_per_msg=10.6`.
///
///     swift run -c release green-bench WORKLOAD [COUNT] [--runtime green|swift] [--hubs N] [--senders S]
///
/// Usage errors exit with 64; a workload that fails exits with 1.
import ArgumentParser
import Dispatch

struct GreenBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "green-bench",
        abstract: "Benchmarks green threads and actors against Swift concurrency.",
        discussion: """
            Prints one line of key=value pairs. Workloads: switch, pingpong, oneway, fanin, spawn, ring, restart, \
            pairs, bridge, green-from-async, scatter need COUNT; skynet takes a power of ten of leaves and defaults to 1000000.
            """
    )

    /// Hub counts the green runtime supports.
    static let supportedGreenHubs = 1...256

    @Argument(help: ArgumentHelp("One of: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).",
                                 valueName: "workload"),
              transform: { try Workload.parse($0) })
    var workload: Workload

    @Argument(help: ArgumentHelp("Yields, round trips, messages, green threads or hops (1_000_000 is fine).",
                                 valueName: "count"),
              transform: { try parseCount($0) })
    var count: Int?

    @Option(help: "The runtime: green (Green's green threads and actors) or swift (Swift concurrency).")
    var runtime: Runtime = .green

    @Option(help: "Event-loop hubs (threads) for the green runtime; ignored by --runtime swift.")
    var hubs = 1

    @Option(help: "Senders for fanin.")
    var senders = 10

    @Option(help: "Independent ping-pong pairs for pairs.")
    var pairs = 2

    @Flag(inversion: .prefixedNo, help: "Whether idle hubs steal unstarted greenlets (green runtime).")
    var steal = true
    @Option(help: "bridge: where awaitAsync bodies run (hub, the default, or global); green-from-async: where the calling Task runs (global, the default, or hub). Green runtime only.")
    var executor: BridgeExecutor?

    mutating func validate() throws {
        do {
            let count = try resolvedCount()
            try workload.validate(count: count)
            guard senders >= 1 else { throw UsageError.badSenders(senders) }
            guard pairs >= 1 else { throw UsageError.badSenders(pairs) }
            if workload == .scatter && (runtime != .green || hubs < 2) {
                throw UsageError.needsTwoGreenHubs(workload)
            }
            if runtime == .green && !Self.supportedGreenHubs.contains(hubs) {
                throw UsageError.unsupportedHubs(hubs, supported: Self.supportedGreenHubs)
            }
        } catch let error as UsageError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let (workload, count, senders, pairs, hubs) = (workload, try resolvedCount(), senders, pairs, hubs)
        let report = switch runtime {
        case .green:
            try runGreenWorkload(workload, count: count, senders: senders, pairs: pairs, hubs: hubs, executor: executor,
                                 stealing: steal)
        case .swift:
            try runDetached { try await runSwiftWorkload(workload, count: count, senders: senders, pairs: pairs) }
        }
        print(report)
    }

    /// COUNT as given, or the workload's default.
    private func resolvedCount() throws -> Int {
        guard let count = count ?? workload.defaultCount else { throw UsageError.missingCount(workload) }
        return count
    }
}

/// Runs `body` in a detached Task, off the main actor (on `executorPreference` when given), and
/// blocks this thread until it is done.
func runDetached(executorPreference: (any TaskExecutor)? = nil,
                 _ body: @escaping @Sendable () async throws -> Report) throws -> Report {
    /// Written by the Task before it signals, read by this thread after it waits.
    final class Outcome: @unchecked Sendable {
        var result: Result<Report, Error>?
    }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Task.detached(executorPreference: executorPreference) {
        do {
            outcome.result = .success(try await body())
        } catch {
            outcome.result = .failure(error)
        }
        done.signal()
    }
    done.wait()
    return try outcome.result!.get()
}

GreenBench.main()
