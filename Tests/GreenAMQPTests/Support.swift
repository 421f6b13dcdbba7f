import Foundation
import Green
import GreenAMQP
import GreenTestSupport
import Testing

/// Runs green code on a thread of its own (Swift Testing runs tests on the
/// cooperative pool, which a hub must not hold), under a guard: a test that
/// hangs fails with a `Timeout` after `limit` instead of hanging the suite.
func green<T>(limit: Duration = .seconds(120), _ body: @escaping () throws -> T) throws -> T {
    try runInNewThread { try withTimeout(limit) { try body() } }
}

/// The broker every test here talks to: RabbitMQ on 127.0.0.1:5672, started
/// by scripts/ensure-rabbitmq.sh (installed with apt-get when missing).
/// The script runs once per test process; when the broker cannot be had,
/// every broker test fails with the script's message (none is skipped).
enum Broker {
    static let url = "amqp://guest:guest@127.0.0.1:5672/"
    static var configuration: AMQPConfiguration { try! AMQPConfiguration(url: url) }

    private static let started: Result<Void, BrokerUnavailable> = {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/ensure-rabbitmq.sh").path
        let (status, output) = run(["/bin/bash", script])
        if status != 0 {
            return .failure(BrokerUnavailable(message: "scripts/ensure-rabbitmq.sh failed (exit \(status)): \(output)"))
        }
        return .success(())
    }()

    /// Makes sure the broker runs.
    /// - Throws: `BrokerUnavailable` with the script's output.
    static func ensure() throws { try started.get() }

    /// Runs a command to its end (killed past a 30-minute guard: the script may
    /// install the broker); its exit status and output (stdout, then stderr).
    @discardableResult
    static func run(_ argv: [String]) -> (Int32, String) {
        do {
            let r = try ChildProcess.run(argv[0], Array(argv.dropFirst()), timeout: .seconds(1800))
            return (r.status.code, r.stdoutText + r.stderrText)
        } catch { return (-1, "\(error)") }
    }

    /// `rabbitmqctl ARGS`, from green code: on the thread pool, so the hub goes on.
    @discardableResult
    static func ctl(_ args: String...) throws -> String {
        let argv = ["/usr/sbin/rabbitmqctl"] + args
        let (status, output) = try ThreadPool.shared.run { run(argv) }
        if status != 0 { throw BrokerUnavailable(message: "rabbitmqctl \(args.joined(separator: " ")): \(output)") }
        return output
    }
}

/// The broker could not be started or driven.
struct BrokerUnavailable: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A name no other test (or earlier run) uses.
func uniqueName(_ prefix: String) -> String { "green.test.\(prefix).\(UUID().uuidString.prefix(8))" }

/// Runs `body` in green code against the real broker.
func withBroker<T>(limit: Duration = .seconds(120), _ body: @escaping () throws -> T) throws -> T {
    try Broker.ensure()
    return try green(limit: limit, body)
}

extension Array where Element == UInt8 {
    init(text: String) { self = Array(text.utf8) }
}

/// An executable of this package, built beside the test bundle.
func builtProduct(_ name: String) -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent(name)
}
