// green-tls-load: the load generator of scripts/bench-tls.sh, a green TLS
// client of ours. It is not the server under test: run it against Echo
// --tls-cert, the NIOSSL peer (Benchmarks/NIOSSLPeer) or gevent's
// Benchmarks/gevent/tls_echo.py. It prints one line of key=value figures.
//
//   green-tls-load handshakes --port 8443 --concurrency 50 --handshakes 5000
//   green-tls-load echo --port 8443 --connections 100 --requests 1000
import ArgumentParser
import Glibc
import Green
import GreenTLS

@main
struct GreenTLSLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "green-tls-load",
        abstract: "Load generator for the TLS benchmarks (handshakes, echo round trips).",
        subcommands: [HandshakeLoad.self, EchoLoad.self])
}

struct Common: ParsableArguments {
    @Option(help: "The server's address.")
    var host: String = "127.0.0.1"

    @Option(help: "The server's port.")
    var port: Int

    @Option(help: "Verify the server against this CA (PEM); without it, the server is not verified (cheaper for the load side).")
    var ca: String?

    @Option(help: "The name to verify with --ca.")
    var serverName: String = "localhost"

    @Option(help: "Give up after this many seconds (exit 1).")
    var timeout: Int = 300

    @Option(help: "A label printed as server=LABEL.")
    var label: String = "server"

    @Flag(help: "Print \"ready\" once connected and start on a line from stdin (lets a script measure the server's CPU over the timed part only).")
    var startOnStdin = false

    /// Waits for the go, when asked to (blocks the thread: nothing else runs yet).
    func awaitStart() {
        guard startOnStdin else { return }
        print("ready")
        fflush(stdout)
        _ = readLine()
    }

    func tls() throws -> TLSConfiguration {
        if let ca { return try .client(trust: .certificateAuthorities(.file(ca))) }
        return try .insecureClientWithoutVerification()
    }

    /// A new TLS connection, handshake done.
    func connect(_ tls: TLSConfiguration) throws -> TLSStream {
        let socket = try Socket.connect(host: host, port: port, timeout: .seconds(timeout))
        try socket.setNoDelay()
        let stream = try TLSStream(client: socket, serverName: ca == nil ? nil : serverName, configuration: tls)
        try stream.handshake(timeout: .seconds(timeout))
        return stream
    }
}

/// This process's CPU time so far (user + system), in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
}

/// The load generator's own cost over the timed part: when it is near 100%
/// busy, the load generator, not the server, set the pace.
func loadFields(cpuStart: Double, elapsed: Double, operations: Int) -> String {
    let cpu = cpuSeconds() - cpuStart
    return " load_cpu_us_per_op=\(fixed(cpu * 1e6 / Double(operations), 1)) load_busy_pct=\(fixed(cpu * 100 / elapsed, 0))"
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// `x` with `digits` decimals (no Foundation here).
func fixed(_ x: Double, _ digits: Int) -> String {
    if digits == 0 { return String(Int(x.rounded())) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let v = Int((x * scale).rounded())
    let whole = v / Int(scale), frac = String(abs(v) % Int(scale))
    return "\(whole).\(String(repeating: "0", count: digits - frac.count))\(frac)"
}

func fail(_ message: String) -> Never {
    fputs("green-tls-load: \(message)\n", stderr)
    exit(1)
}

func line(_ size: Int) -> [UInt8] {
    var line = [UInt8](repeating: UInt8(ascii: "x"), count: max(1, size))
    line[line.count - 1] = 10
    return line
}

/// New connections, each: TCP connect, full handshake (no resumption), one
/// echo round trip (so the server has surely finished its side), close.
struct HandshakeLoad: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "handshakes", abstract: "Full TLS handshakes on new connections.")

    @OptionGroup var common: Common

    @Option(help: "Connections in flight at once.")
    var concurrency: Int = 50

    @Option(help: "Connections in all.")
    var handshakes: Int = 5000

    func run() throws {
        let tls = try common.tls()
        let payload = line(64)
        var started = 0
        common.awaitStart()
        let cpuStart = cpuSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        var workers: [Greenlet<Void>] = []
        for _ in 0..<concurrency {
            workers.append(spawn {
                while started < handshakes {
                    started += 1
                    let stream = try common.connect(tls)
                    try stream.sendAll(payload, timeout: .seconds(common.timeout))
                    guard try BufferedReader(stream).readLineBytes(timeout: .seconds(common.timeout)) == payload else {
                        fail("the echo differs from what was sent")
                    }
                    stream.close()
                }
            })
        }
        for w in workers {
            try w.join()
            if let e = w.error { fail("a client failed: \(e)") }
        }
        let elapsed = seconds(clock.now - start)
        print("mode=handshakes server=\(common.label) concurrency=\(concurrency) handshakes=\(handshakes)"
              + " seconds=\(fixed(elapsed, 3)) handshakes_per_sec=\(fixed(Double(handshakes) / elapsed, 0))"
              + loadFields(cpuStart: cpuStart, elapsed: elapsed, operations: handshakes))
    }
}

/// `connections` TLS clients, each sending a `size`-byte line and reading it back `requests` times.
struct EchoLoad: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "echo", abstract: "Round trips of one line per TLS connection.")

    @OptionGroup var common: Common

    @Option(help: "Concurrent connections.")
    var connections: Int = 100

    @Option(help: "Round trips per connection.")
    var requests: Int = 1000

    @Option(help: "Bytes per line, newline included.")
    var size: Int = 64

    func run() throws {
        let tls = try common.tls()
        let payload = line(size)
        var latencies: [Duration] = []
        latencies.reserveCapacity(connections * requests)
        var streams: [TLSStream] = []
        for _ in 0..<connections { streams.append(try common.connect(tls)) }
        common.awaitStart()
        let cpuStart = cpuSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = Duration.seconds(common.timeout)
        var clients: [Greenlet<Void>] = []
        for s in streams {
            clients.append(spawn {
                let reader = BufferedReader(s)
                for _ in 0..<requests {
                    let t0 = clock.now
                    try s.sendAll(payload, timeout: deadline)
                    guard let back = try reader.readLineBytes(maxLength: payload.count + 16, timeout: deadline) else {
                        fail("the server closed a connection")
                    }
                    if back != payload { fail("the echo differs from what was sent") }
                    latencies.append(clock.now - t0)
                }
                s.close()
            })
        }
        for c in clients {
            try c.join()
            if let e = c.error { fail("a client failed: \(e)") }
        }
        let elapsed = seconds(clock.now - start)
        latencies.sort()
        let total = connections * requests
        func pct(_ p: Double) -> Double { seconds(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) * 1e6 }
        print("mode=echo server=\(common.label) connections=\(connections) requests=\(requests) size=\(size)"
              + " round_trips=\(total) seconds=\(fixed(elapsed, 3)) rtt_per_sec=\(fixed(Double(total) / elapsed, 0))"
              + " p50_us=\(fixed(pct(0.5), 1)) p99_us=\(fixed(pct(0.99), 1))"
              + loadFields(cpuStart: cpuStart, elapsed: elapsed, operations: total))
    }
}
