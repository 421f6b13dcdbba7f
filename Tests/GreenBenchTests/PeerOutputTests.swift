import Foundation
import GreenTestSupport
import Testing

/// Runs the benchmark peers that scripts/bench.sh sets beside Green (Benchmarks/go and
/// Benchmarks/erlang) at small counts, and checks that each prints one line with exactly
/// green-bench's keys in green-bench's order, so the script's table compares like with like.
/// A peer whose toolchain (`go`, `escript`) is not installed is skipped: `swift test` never
/// needs them. Never checks how fast anything is.
@Suite struct PeerOutputTests {
    /// The workloads both green-bench and the peers run, with their arguments.
    static let shared: [(String, [String])] = [
        ("switch", ["1000"]), ("pingpong", ["1000"]), ("oneway", ["1000"]),
        ("fanin", ["1000", "--senders", "4"]), ("spawn", ["1000"]), ("ring", ["1000"]),
        ("skynet", ["1000"]), ("pairs", ["1000", "--pairs", "2"]),
    ]

    /// This repository's root: three levels above this file.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The executable `name` on PATH, if any.
    static func which(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").lazy
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// A started child process whose few lines of output fit in its pipes.
    struct Running {
        let process: ChildProcess

        /// Waits for the process (killed past a 600 s guard); returns its status and
        /// output, or status -1 with the error as `err`.
        func finish() -> (status: Int32, out: String, err: String) {
            do {
                let r = try process.communicate(timeout: .seconds(600))
                return (r.status.code, r.stdoutText, r.stderrText)
            } catch {
                return (-1, "", "\(error)")
            }
        }
    }

    /// Starts `executable` with `arguments` and extra `environment`.
    static func start(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                      in directory: URL? = nil) throws -> Running {
        Running(process: try ChildProcess(executable.path, arguments, environment: environment,
                                          workingDirectory: directory?.path, stdout: .pipe, stderr: .pipe))
    }

    /// Runs `executable` to its end; returns its status and output.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                    in directory: URL? = nil) throws -> (status: Int32, out: String, err: String) {
        try start(executable, arguments, environment: environment, in: directory).finish()
    }

    /// green-bench, found beside the test bundle as GreenBenchOutputTests finds it.
    static func greenBench() -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("green-bench").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("green-bench")
    }

    /// The keys of a line after `workload=` and `runtime=`, without `*_idiom` keys and the
    /// trailing `hubs=`; nil unless the line is one line of `key=value` pairs with numbers.
    static func keys(of output: String, workload: String, runtime: String) -> [String]? {
        let lines = output.split(separator: "\n")
        guard lines.count == 1 else { return nil }
        let pairs = lines[0].split(separator: " ").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
        guard pairs.allSatisfy({ $0.count == 2 }), pairs.count > 2,
              pairs[0] == ["workload", workload], pairs[1] == ["runtime", runtime] else { return nil }
        var keys: [String] = []
        for (index, pair) in pairs.enumerated().dropFirst(2) {
            if pair[0].hasSuffix("_idiom") || (pair[0] == "hubs" && index == pairs.count - 1) { continue }
            guard Double(pair[1]) != nil || pair[1] == "inf" else { return nil }
            keys.append(pair[0])
        }
        return keys
    }

    /// green-bench's keys for every shared workload, from its own lines (run once, all at once).
    static let greenKeys = Result { () throws -> [String: [String]] in
        let started = try shared.map { workload, args in (workload, try start(greenBench(), [workload] + args)) }
        var result: [String: [String]] = [:]
        for (workload, running) in started {
            let r = running.finish()
            if r.status == 0, let keys = keys(of: r.out, workload: workload, runtime: "green") {
                result[workload] = keys
            }
        }
        return result
    }

    /// Checks a peer's lines against green-bench's: every workload on one hub (GOMAXPROCS, +S),
    /// pingpong and pairs on two as well; `extra` holds workloads only the peer has, with their
    /// expected keys. The peer's runs go at once (each is short; Erlang's start is not).
    static func check(runtime: String, extra: [(String, [String], [String])] = [],
                      startPeer: (_ args: [String], _ hubs: Int) throws -> Running) throws {
        let green = try greenKeys.get()
        #expect(green.count == shared.count, "green-bench gave no usable line for some workloads: \(green.keys.sorted())")
        let oneHub = shared.compactMap { workload, args in green[workload].map { (workload, args, $0, 1) } } + extra.map { ($0.0, $0.1, $0.2, 1) }
        let twoHubs = oneHub.filter { ["pingpong", "pairs"].contains($0.0) }.map { ($0.0, $0.1, $0.2, 2) }
        let started = try (oneHub + twoHubs).map { workload, args, expected, hubs in
            (workload, expected, hubs, try startPeer([workload] + args, hubs))
        }
        let bad = try startPeer(["juggle", "10"], 1)
        for (workload, expected, hubs, running) in started {
            let r = running.finish()
            #expect(r.status == 0, "\(runtime) \(workload) (\(hubs)): \(r.err)")
            let keys = keys(of: r.out, workload: workload, runtime: runtime)
            #expect(keys == expected, "\(runtime) \(workload) (\(hubs)): '\(r.out)', expected keys \(expected)")
            #expect(r.out.hasSuffix(" hubs=2\n") == (hubs == 2), "\(runtime) \(workload) (\(hubs)): '\(r.out)'")
            if workload == "skynet" { #expect(r.out.contains(" sum=499500")) }
        }
        #expect(bad.finish().status == 64)
    }

    @Test(.enabled(if: which("go") != nil, "needs go (Debian's golang-go)"))
    func goPeerPrintsGreenBenchLines() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("green-peer-go-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = dir.appendingPathComponent("green-peer-go")
        let build = try Self.run(Self.which("go")!, ["build", "-o", binary.path, "."],
                                 environment: ["GOPROXY": "off", "GOFLAGS": "-mod=mod"],
                                 in: Self.root.appendingPathComponent("Benchmarks/go"))
        try #require(build.status == 0, "go build: \(build.err)")
        try Self.check(runtime: "go") { args, hubs in
            try Self.start(binary, args, environment: ["GOMAXPROCS": "\(hubs)"])
        }
    }

    @Test(.enabled(if: which("escript") != nil, "needs escript (Debian's erlang-base)"))
    func erlangPeerPrintsGreenBenchLines() throws {
        let script = Self.root.appendingPathComponent("Benchmarks/erlang/green_peer.escript").path
        try Self.check(runtime: "erlang",
                       extra: [("restart", ["100"], ["restarts", "seconds", "ns_per_restart"])]) { args, hubs in
            try Self.start(Self.which("escript")!, [script] + args, environment: ["ERL_FLAGS": "+S \(hubs)"])
        }
    }
}
