// green-load: the load generator of the I/O benchmarks, a green client of ours.
// It is not the server under test: run it against Echo, nio-echo-server, the
// gevent servers of Benchmarks/gevent, or ChatRoom. It prints one line of
// key=value figures.
//
//   green-load echo --port 8000 --connections 100 --requests 1000 --size 64
//   green-load chat --port 8001 --users 200 --lines 50
//   green-load chat-overload --port 8001 --talkers 600 --stalled 100 --resetters 300
import ArgumentParser
import Glibc
import Green

@main
struct GreenLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "green-load",
        abstract: "Load generator for the echo and chat-room benchmarks.",
        subcommands: [EchoLoad.self, ChatLoad.self, ChatOverload.self])
}

struct Common: ParsableArguments {
    @Option(help: "The server's address.")
    var host: String = "127.0.0.1"

    @Option(help: "The server's port.")
    var port: Int

    @Option(help: "Give up after this many seconds (exit 1).")
    var timeout: Int = 300

    @Option(help: "A label printed as server=LABEL.")
    var label: String = "server"
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
    fputs("green-load: \(message)\n", stderr)
    exit(1)
}

/// `connections` clients, each sending a `size`-byte line and reading it back `requests` times.
struct EchoLoad: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "echo", abstract: "Round trips of one line per connection.")

    @OptionGroup var common: Common

    @Option(help: "Concurrent connections.")
    var connections: Int = 100

    @Option(help: "Round trips per connection.")
    var requests: Int = 1000

    @Option(help: "Bytes per line, newline included.")
    var size: Int = 64

    func run() throws {
        var line = [UInt8](repeating: UInt8(ascii: "x"), count: max(1, size))
        line[line.count - 1] = 10
        let payload = line
        var latencies: [Duration] = []
        latencies.reserveCapacity(connections * requests)
        var sockets: [Socket] = []
        for _ in 0..<connections {
            let s = try Socket.connect(host: common.host, port: common.port, timeout: .seconds(10))
            try s.setNoDelay()
            sockets.append(s)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = Duration.seconds(common.timeout)
        var clients: [Greenlet<Void>] = []
        for s in sockets {
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
              + " p50_us=\(fixed(pct(0.5), 1)) p99_us=\(fixed(pct(0.99), 1))")
    }
}

/// `users` chat clients join; then each sends `lines` lines and reads until it
/// has seen every user's every line.
struct ChatLoad: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chat", abstract: "Everyone talks, everyone hears everything.")

    @OptionGroup var common: Common

    @Option(help: "Users in the room.")
    var users: Int = 200

    @Option(help: "Lines each user sends.")
    var lines: Int = 50

    func run() throws {
        let n = users
        let prompt = "Please enter your name: ".utf8.count
        var socks: [Socket] = []
        var readers: [BufferedReader] = []
        // Join one by one: user 0 sees each later join, so everyone is in the room before the clock starts.
        for i in 0..<n {
            let s = try Socket.connect(host: common.host, port: common.port, timeout: .seconds(10))
            let r = BufferedReader(s, bufferSize: 1 << 16)
            let p = try r.read(exactly: prompt, timeout: .seconds(10))
            if p.count != prompt { fail("no name prompt") }
            try s.sendAll("u\(i)\n")
            socks.append(s)
            readers.append(r)
            if i > 0 {
                let expected = "## u\(i) joined from"
                while true {
                    guard let l = try readers[0].readLine(timeout: .seconds(10)) else { fail("user 0 was disconnected") }
                    if l.hasPrefix(expected) { break }
                }
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        let total = n * lines
        var done: [Greenlet<Void>] = []
        for i in 0..<n {
            let s = socks[i], r = readers[i]
            // Lines still unread by user i: the joins after its own (user 0 read them all).
            let expected = total + (i == 0 ? 0 : n - 1 - i)
            spawn(name: "sender-\(i)") {
                var out: [UInt8] = []
                for j in 0..<lines {
                    out.removeAll(keepingCapacity: true)
                    out.append(contentsOf: "line \(j) from user \(i)\n".utf8)
                    try s.sendAll(out)
                }
            }
            done.append(spawn(name: "receiver-\(i)") {
                var seen = 0
                // What is already buffered, then raw reads: count newlines.
                var chunk = r.bufferedCount > 0 ? try r.read(maxBytes: r.bufferedCount) : []
                while seen < expected {
                    if chunk.isEmpty {
                        chunk = try s.recv(maxBytes: 1 << 16, timeout: .seconds(common.timeout))
                        if chunk.isEmpty { fail("user \(i) was disconnected after \(seen) of \(expected) lines") }
                    }
                    for b in chunk where b == 10 { seen += 1 }
                    chunk = []
                }
            })
        }
        for g in done {
            try g.join()
            if let e = g.error { fail("a client failed: \(e)") }
        }
        let elapsed = seconds(clock.now - start)
        for s in socks { s.close() }
        let deliveries = n * total
        print("mode=chat server=\(common.label) users=\(n) lines=\(lines) messages=\(total) deliveries=\(deliveries)"
              + " seconds=\(fixed(elapsed, 3)) deliveries_per_sec=\(fixed(Double(deliveries) / elapsed, 0))")
    }
}


/// The overload mix of issue 14, item 3: `talkers` users that each send
/// `lines` lines and must hear every talker's every line, beside `stalled`
/// users that never read (a 4 KiB receive buffer) and `resetters` that read a
/// little of the talk, then reset their connections. Prints how many talkers
/// heard everything and how many were cut; exits 1 unless every talker heard
/// every line. Stalled users count as closed when the room disconnected them
/// by the end: only when each user is sent more than the room's limit and the
/// kernel's buffers hold (on loopback the server's send buffer grows to some
/// 2 MB), e.g. 100 talkers of 300 lines of 100 bytes.
///
///   ChatRoom --port 8001 --max-queued-bytes 131072 &
///   green-load chat-overload --port 8001 --talkers 600 --stalled 100 --resetters 300
struct ChatOverload: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-overload", abstract: "Talkers beside users that never read and users that reset.")

    @OptionGroup var common: Common

    @Option(help: "Users that talk and must hear everything.")
    var talkers: Int = 600

    @Option(help: "Users that never read.")
    var stalled: Int = 100

    @Option(help: "Users that read a little, then reset their connections.")
    var resetters: Int = 300

    @Option(help: "Lines each talker sends.")
    var lines: Int = 50

    @Option(help: "Pad each line to this many bytes (0: no padding).")
    var lineBytes: Int = 0

    func run() throws {
        let address = try Resolver.resolve(host: common.host, port: common.port).first!
        let guardTime = Duration.seconds(common.timeout)
        let prompt = "Please enter your name: ".utf8.count

        /// Connects and answers the prompt with `name`.
        func join(_ name: String, receiveBuffer: Int32? = nil) throws -> (Socket, BufferedReader) {
            let s = try Socket(family: address.family)
            if let receiveBuffer { try s.setOption(SOL_SOCKET, SO_RCVBUF, receiveBuffer) }
            try s.connect(to: address, timeout: guardTime)
            let r = BufferedReader(s, bufferSize: 1 << 16)
            if try r.read(exactly: prompt, timeout: guardTime).count != prompt { fail("no name prompt for \(name)") }
            try s.sendAll(name + "\n", timeout: guardTime)
            return (s, r)
        }

        // Everyone joins; the first talker sees each later join, so all are in before the talk.
        var talking: [(Socket, BufferedReader)] = []
        var quiet: [(Socket, BufferedReader)] = []
        var vanishing: [(Socket, BufferedReader)] = []
        let names = (0..<talkers).map { "t\($0)" } + (0..<stalled).map { "s\($0)" } + (0..<resetters).map { "r\($0)" }
        for (k, name) in names.enumerated() {
            let c = try join(name, receiveBuffer: name.hasPrefix("s") ? 4096 : nil)
            if k < talkers { talking.append(c) } else if k < talkers + stalled { quiet.append(c) } else { vanishing.append(c) }
            if k > 0 {
                while true {
                    guard let l = try talking[0].1.readLine(timeout: guardTime) else { fail("t0 was disconnected") }
                    if l.hasPrefix("## \(name) joined from") { break }
                }
            }
        }

        let clock = ContinuousClock()
        let start = clock.now
        let expected = talkers * lines
        var heard = [Int](repeating: 0, count: talkers)
        var cut = [String?](repeating: nil, count: talkers)
        var receivers: [Greenlet<Void>] = []
        for (i, (s, r)) in talking.enumerated() {
            spawn(name: "sender-\(i)") {
                for j in 0..<lines {
                    var line = "line \(j) from t\(i) "
                    if line.utf8.count < lineBytes - 1 { line += String(repeating: "z", count: lineBytes - 1 - line.utf8.count) }
                    try s.sendAll(line + "\n", timeout: guardTime)
                }
            }
            receivers.append(spawn(name: "receiver-\(i)") {
                // Counts lines that are not the room's notices ("## ..."); notes a disconnection.
                var atStart = true, notice = false, noticeText: [UInt8] = []
                var chunk = r.bufferedCount > 0 ? try r.read(maxBytes: r.bufferedCount) : []
                while heard[i] < expected {
                    if chunk.isEmpty {
                        chunk = try s.recv(maxBytes: 1 << 16, timeout: guardTime)
                        if chunk.isEmpty {
                            cut[i] = "disconnected after \(heard[i]) lines" + (noticeText.isEmpty ? "" : " (\(String(decoding: noticeText, as: UTF8.self)))")
                            return
                        }
                    }
                    for b in chunk {
                        if atStart { notice = b == UInt8(ascii: "#"); atStart = false; if notice { noticeText = [] } }
                        if b == 10 {
                            if !notice { heard[i] += 1 }
                            atStart = true
                        } else if notice, noticeText.count < 60 {
                            noticeText.append(b)
                        }
                    }
                    chunk = []
                    // Let the other clients read too: one that hogs the generator's
                    // hub starves the rest, and the room rightly drops clients that
                    // take nothing for its stallTimeout.
                    try yieldGreenlet()
                }
            })
        }
        for (i, (s, r)) in vanishing.enumerated() {
            spawn(name: "resetter-\(i)") {
                _ = try r.read(exactly: 1000 * (i % 64 + 1), timeout: guardTime)
                var lg = linger(l_onoff: 1, l_linger: 0)
                _ = setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
                s.close()
            }
        }
        for g in receivers {
            try g.join()
            if let e = g.error { fail("a talker's client failed: \(e)") }
        }
        let elapsed = seconds(clock.now - start)
        // The stalled users read at last, all at once, until the end of the
        // stream or 5 s of silence: those the room disconnected end.
        var stalledClosed = 0
        let drains = quiet.map { s, _ in
            spawn(name: "drain") {
                while true {
                    guard let chunk = try? s.recv(maxBytes: 1 << 16, timeout: .seconds(5)) else { return }
                    if chunk.isEmpty { stalledClosed += 1; return }
                }
            }
        }
        try joinAll(drains)
        for (s, _) in talking + quiet { s.close() }
        let complete = heard.filter { $0 == expected }.count
        print("mode=chat-overload server=\(common.label) talkers=\(talkers) stalled=\(stalled) resetters=\(resetters) lines=\(lines)"
              + " talkers_complete=\(complete) talkers_cut=\(cut.compactMap { $0 }.count) stalled_closed=\(stalledClosed)"
              + " seconds=\(fixed(elapsed, 3))")
        if let first = cut.firstIndex(where: { $0 != nil }) { fail("t\(first) \(cut[first]!)") }
        if complete < talkers { fail("only \(complete) of \(talkers) talkers heard every line") }
    }
}
