/// Workload: what green-bench can run, on which runtime, and how its command line is parsed.
///
/// Parsing failures are `UsageError`s; main.swift turns them into usage errors, which
/// ArgumentParser reports with exit code 64 (EX_USAGE).
import ArgumentParser

/// A benchmark workload, named as on the command line.
enum Workload: String, CaseIterable, Sendable {
    /// Two green threads (Tasks) yield to each other COUNT times each.
    case `switch`
    /// Two actors bounce a message through their inboxes COUNT times.
    case pingpong
    /// One sender sends COUNT messages into one actor's inbox.
    case oneway
    /// Several senders send COUNT messages in all into one actor's inbox.
    case fanin
    /// COUNT green threads (Tasks) park on one event, then are released and joined.
    case spawn
    /// Savina's thread ring: 100 actors pass a token COUNT hops.
    case ring
    /// A tree of actors with fan-out 10 sums the numbers below COUNT (default one million leaves).
    case skynet
    /// P independent ping-pong pairs (`--pairs`), spread over the hubs, COUNT round trips in all.
    case pairs
    /// A greenlet calls `awaitAsync` on a trivial async body COUNT times (swift: a Task awaits another actor).
    case bridge
    /// A Task calls `Green.run` on a trivial body COUNT times (swift: a Task awaits a new Task's value).
    case greenFromAsync = "green-from-async"
    /// A one-for-one supervisor's permanent child crashes and is restarted COUNT times.
    case restart
    /// COUNT fire-and-forget greenlets spawned `.leastLoaded` from hub 0 while hub 1 is busy
    /// in a greenlet that does not yield (green, `--hubs 2` or more; `--no-steal` pins them).
    case scatter

    /// Parses a workload name, or throws `UsageError.unknownWorkload`.
    static func parse(_ name: String) throws -> Workload {
        guard let workload = Workload(rawValue: name.lowercased()) else {
            throw UsageError.unknownWorkload(name)
        }
        return workload
    }

    /// The count used when none is given, if this workload has one.
    var defaultCount: Int? {
        self == .skynet ? 1_000_000 : nil
    }

    /// Checks that `count` suits this workload.
    func validate(count: Int) throws {
        if self == .scatter && count < 2 {
            throw UsageError.badCount("\(count)", reason: "scatter needs at least 2 greenlets")
        }
        if self == .skynet && !count.isPowerOfTen {
            throw UsageError.badCount("\(count)", reason: "skynet needs a power of ten of at least 10 leaves")
        }
    }
}

extension BridgeExecutor: ExpressibleByArgument {}

/// The runtime a workload runs on.
enum Runtime: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// Green threads and actors on libev (this package).
    case green
    /// Swift concurrency: Tasks, AsyncStream inboxes, task groups.
    case swift
}

/// A command line green-bench can't run.
enum UsageError: Error, CustomStringConvertible {
    case unknownWorkload(String)
    case badCount(String, reason: String)
    case missingCount(Workload)
    case badSenders(Int)
    case unsupportedHubs(Int, supported: ClosedRange<Int>)
    case needsTwoGreenHubs(Workload)

    var description: String {
        switch self {
        case .unknownWorkload(let name):
            let known = Workload.allCases.map(\.rawValue).joined(separator: ", ")
            return "unknown workload '\(name)'; expected one of: \(known)"
        case .badCount(let text, let reason):
            return "bad COUNT '\(text)': \(reason)"
        case .missingCount(let workload):
            return "workload '\(workload.rawValue)' needs a COUNT"
        case .badSenders(let senders):
            return "bad --senders \(senders): needs at least 1"
        case .unsupportedHubs(let hubs, let supported):
            return "--hubs \(hubs) is not supported by the green runtime yet (supported: \(supported.lowerBound)...\(supported.upperBound))"
        case .needsTwoGreenHubs(let workload):
            return "\(workload.rawValue) runs on the green runtime with --hubs 2 or more"
        }
    }
}

/// Parses COUNT: a positive integer, optionally with `_` or `,` separators (`1_000_000`).
func parseCount(_ text: String) throws -> Int {
    let digits = text.filter { $0 != "_" && $0 != "," }
    guard let count = Int(digits) else {
        throw UsageError.badCount(text, reason: "not an integer")
    }
    guard count > 0 else {
        throw UsageError.badCount(text, reason: "must be positive")
    }
    return count
}

extension Int {
    /// True for 10, 100, 1000, ...
    var isPowerOfTen: Bool {
        var n = self
        while n >= 10 && n % 10 == 0 { n /= 10 }
        return n == 1 && self >= 10
    }
}
