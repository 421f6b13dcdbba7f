import Foundation
import Green
import GreenTestSupport
import Testing

/// Runs green code on a thread of its own (Swift Testing calls tests on the
/// cooperative pool, which a hub must not hold).
func green<T>(_ body: @escaping () throws -> T) throws -> T {
    try runInNewThread(body)
}

struct Boom: Error, Equatable { var tag = "boom" }

/// Whether this process runs under AddressSanitizer (`swift test --sanitize=address`):
/// its shadow memory and quarantine make resident-memory figures meaningless.
let runningUnderAddressSanitizer = dlsym(nil, "__asan_init") != nil

/// Whether this process runs under ThreadSanitizer (`swift test --sanitize=thread`):
/// it keeps bookkeeping for every thread that ever ran (about 1.6-1.9 KB a
/// thread for these Swift threads, 340 bytes for a bare C thread), so resident
/// memory grows with threads that have ended even when nothing leaks.
let runningUnderThreadSanitizer = dlsym(nil, "__tsan_init") != nil

/// A simple event log shared by greenlets of one hub.
final class Log {
    var lines: [String] = []
    func add(_ s: String) { lines.append(s) }
}

/// The path of a product built next to the test bundle.
func builtProduct(_ name: String) -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent(name)
}

/// Runs the test child program with `args`; returns its exit status, and what it wrote.
/// Throws `ChildProcessError.timedOut` (the child killed) past `timeout`.
func runChild(_ args: [String], timeout: Duration = .seconds(300)) throws -> (status: Int32, reason: ChildProcess.TerminationReason, stdout: String, stderr: String) {
    let r = try ChildProcess.run(builtProduct("GreenTestChild").path, args,
                                 environment: ["SWIFT_BACKTRACE": "enable=no"], timeout: timeout)
    return (r.status.code, r.status.reason, r.stdoutText, r.stderrText)
}
