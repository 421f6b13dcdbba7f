import Foundation
import GreenTestSupport
import Testing

/// Runs the real `green-bench` program at small counts and checks what it prints
/// (never how fast: speed is for the benchmarks themselves).
@Suite struct GreenBenchOutputTests {
    static let expectedKeys: [String: [String]] = [
        "switch": ["yields", "seconds", "ns_per_yield"],
        "pingpong": ["roundtrips", "seconds", "msgs_per_s", "ns_per_msg", "p50_ns", "p99_ns"],
        "oneway": ["msgs", "seconds", "msgs_per_s", "ns_per_msg"],
        "fanin": ["msgs", "senders", "seconds", "msgs_per_s", "ns_per_msg"],
        "spawn": ["greenlets", "spawn_and_park_s", "total_s", "ns_per_spawn", "bytes_per_parked"],
        "ring": ["hops", "seconds", "ns_per_hop"],
        "skynet": ["actors", "seconds", "sum"],
        "pairs": ["pairs", "roundtrips", "seconds", "msgs_per_s", "ns_per_msg"],
        "bridge": ["calls", "seconds", "ns_per_call", "p50_ns", "p99_ns"],
        "green-from-async": ["calls", "seconds", "ns_per_call", "p50_ns", "p99_ns"],
        "restart": ["restarts", "seconds", "ns_per_restart", "cpu_ns_per_restart"],
        "scatter": ["greenlets", "seconds", "greenlets_per_s", "stolen"],
    ]

    static let runs: [(String, [String])] = [
        ("switch", ["1000"]), ("pingpong", ["1000"]), ("oneway", ["1000"]),
        ("fanin", ["1000", "--senders", "4"]), ("spawn", ["1000"]), ("ring", ["1000"]), ("skynet", ["1000"]),
        ("pairs", ["1000", "--pairs", "2"]),
        ("bridge", ["1000"]), ("bridge", ["1000", "--executor", "global"]),
        ("green-from-async", ["1000"]), ("green-from-async", ["1000", "--executor", "hub"]),
        ("restart", ["1000"]),
    ]

    /// Every workload again on a runtime of two hubs, and those that need two.
    static let twoHubRuns: [(String, [String])] = runs.map { ($0.0, $0.1 + ["--hubs", "2"]) }
        + [("scatter", ["1000", "--hubs", "2"]), ("scatter", ["1000", "--hubs", "2", "--no-steal"])]

    func bench(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("green-bench").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        let r = try ChildProcess.run(dir.appendingPathComponent("green-bench").path, args, timeout: .seconds(600))
        return (r.status.code, r.stdoutText, r.stderrText)
    }

    @Test(arguments: ["green", "swift"])
    func everyWorkloadPrintsOneWellFormedLine(runtime: String) throws {
        for (workload, args) in Self.runs {
            let r = try bench([workload] + args + ["--runtime", runtime])
            #expect(r.status == 0, "\(workload) \(runtime): \(r.err)")
            let lines = r.out.split(separator: "\n")
            #expect(lines.count == 1, "\(workload) \(runtime) printed \(lines.count) lines")
            guard let line = lines.first else { continue }
            var pairs: [String: String] = [:]
            for token in line.split(separator: " ") {
                let kv = token.split(separator: "=", maxSplits: 1).map(String.init)
                #expect(kv.count == 2 && !kv[0].isEmpty && !kv[1].isEmpty, "bad token '\(token)'")
                if kv.count == 2 { pairs[kv[0]] = kv[1] }
            }
            #expect(line.hasPrefix("workload=\(workload) runtime=\(runtime)"))
            for key in Self.expectedKeys[workload]! {
                #expect(pairs[key].flatMap(Double.init) != nil, "\(workload) \(runtime): no number for \(key) in '\(line)'")
            }
            if workload == "skynet" { #expect(pairs["sum"] == "499500") }
            if workload == "restart" { #expect(pairs["restarts"] == "1000") }
        }
    }

    @Test func everyWorkloadRunsOnTwoHubs() throws {
        for (workload, args) in Self.twoHubRuns {
            let r = try bench([workload] + args)
            #expect(r.status == 0, "\(workload) --hubs 2: \(r.err)")
            let line = r.out.split(separator: "\n").first.map(String.init) ?? ""
            #expect(line.hasPrefix("workload=\(workload) runtime=green"), "\(line)")
            #expect(line.hasSuffix("hubs=2"), "\(line)")
            for key in Self.expectedKeys[workload]! {
                #expect(line.contains(" \(key)="), "\(workload) --hubs 2: no \(key) in '\(line)'")
            }
            if workload == "skynet" { #expect(line.contains("sum=499500")) }
        }
    }

    @Test func scatterNeedsTwoGreenHubs() throws {
        let r = try bench(["scatter", "1000"])
        #expect(r.status == 64)
        #expect(r.err.contains("--hubs 2"))
    }

    @Test func aBadWorkloadIsAUsageError() throws {
        let r = try bench(["juggle", "10"])
        #expect(r.status == 64)
        #expect(r.err.contains("juggle"))
    }
}
