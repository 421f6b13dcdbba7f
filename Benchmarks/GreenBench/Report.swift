/// Report: the one output line of a benchmark run, as ordered `key=value` pairs.
///
/// Every run prints exactly one line such as
/// `workload=pingpong runtime=green roundtrips=1000000 seconds=0.0213 msgs_per_s=93896713 ns_per_msg=10.6`.
/// Keys keep the order they were added in. Values are formatted by kind:
/// integers plain, seconds with four decimals, nanoseconds with one decimal.
import Foundation

struct Report: CustomStringConvertible, Sendable {
    private(set) var fields: [(key: String, value: String)] = []

    /// Starts a report with the keys every line begins with: `workload`, `runtime` and,
    /// for the swift runtime, `swift_idiom` (e.g. `asyncstream_inbox`, `task_group`).
    init(workload: Workload, runtime: Runtime, idiom: String? = nil) {
        add("workload", workload.rawValue)
        add("runtime", runtime.rawValue)
        if let idiom {
            add("swift_idiom", idiom)
        }
    }

    /// Adds a word, e.g. `swift_idiom=task_group`.
    mutating func add(_ key: String, _ value: String) {
        precondition(!key.contains(" ") && !value.contains(" "), "report keys and values are single words")
        fields.append((key, value))
    }

    /// Adds an integer, printed plain: `roundtrips=1000000`.
    mutating func add<T: BinaryInteger>(_ key: String, _ value: T) {
        add(key, String(value))
    }

    /// Adds a rate or other count that is measured as a Double, rounded to an integer: `msgs_per_s=93896713`.
    mutating func add(_ key: String, rounded value: Double) {
        add(key, value.isFinite ? String(Int64(value.rounded())) : "inf")
    }

    /// Adds a duration in seconds, with four decimals (`seconds=0.0213`). Durations under a
    /// millisecond keep four significant digits instead, so short runs don't print `0.0000`.
    mutating func add(_ key: String, seconds: Double) {
        var decimals = 4
        if seconds > 0 && seconds < 0.001 {
            decimals = 3 - Int(log10(seconds).rounded(.down))
        }
        add(key, String(format: "%.*f", decimals, seconds))
    }

    /// Adds a duration in nanoseconds, with one decimal: `ns_per_msg=10.6`.
    mutating func add(_ key: String, nanoseconds: Double) {
        add(key, String(format: "%.1f", nanoseconds))
    }

    /// The value for `key`, as printed.
    subscript(key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    /// The line to print: `key=value` pairs separated by single spaces.
    var description: String {
        fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
