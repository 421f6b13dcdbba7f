import Foundation
import Green
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
func runChild(_ args: [String], timeout: TimeInterval = 60) throws -> (status: Int32, reason: Process.TerminationReason, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = builtProduct("GreenTestChild")
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    var env = ProcessInfo.processInfo.environment
    env["SWIFT_BACKTRACE"] = "enable=no"
    p.environment = env
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, p.terminationReason, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
