import Glibc
import Green
import GreenChat
import Testing

extension ChatClient {
    /// Joins as `name` and waits until its own line "ready" comes back: from
    /// then on the room counts it in, and it has read everything sent before.
    func joinAndConfirm(_ name: String) throws {
        try join(name)
        try send("ready\n")
        while let line = try reader.readLine(timeout: ChatClient.hangGuard) {
            if line == "\(name)> ready" { return }
        }
        throw SocketError.closed
    }

    /// Resets the connection (RST, not FIN).
    func reset() {
        var lg = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(socket.fd, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
        close()
    }
}

/// What one talker saw of the others' talk.
struct Hearing {
    var lines = 0
    var outOfOrder = 0
    var evicted = false
    var left: Set<String> = []
}

/// Reads `talkers × lines` lines "tK> line J ..." (each talker's in order),
/// noting notices; stops early when disconnected.
func hear(_ c: ChatClient, talkers: Int, lines: Int) throws -> Hearing {
    var h = Hearing()
    var next = [Int](repeating: 0, count: talkers)
    while h.lines < talkers * lines {
        guard let line = try c.reader.readLine(timeout: ChatClient.hangGuard) else { return h }
        if line == "## You are too far behind; disconnecting." { h.evicted = true; continue }
        if line.hasPrefix("## "), line.hasSuffix(" left the chat.") {
            h.left.insert(String(line.dropFirst(3).dropLast(15)))
            continue
        }
        guard line.hasPrefix("t"), let gt = line.firstIndex(of: ">"), let k = Int(line[line.index(after: line.startIndex)..<gt]),
              line[gt...].hasPrefix("> line ") else { continue }
        let j = Int(line[line.index(gt, offsetBy: 7)...].prefix { $0.isNumber }) ?? -1
        if j != next[k] { h.outOfOrder += 1 }
        next[k] = j + 1
        h.lines += 1
    }
    return h
}

@Suite struct ChatRoomHardeningTests {
    static let filler = String(repeating: "z", count: 40)

    /// Every talker sends all its lines at once; each must hear every line.
    /// Returns what each talker heard, and the last line each stalled client
    /// finds when it reads at last. The room and the clients share the test's
    /// hub, so the clients read as often as the room writes (on a loaded
    /// machine, clients on another thread could fall behind for real, and
    /// being evicted would then be right).
    func talk(talkers: Int, lines: Int, stalled: Int, resetters: Int) throws -> (heard: [Hearing], stalledLast: [String]) {
        try green { () -> ([Hearing], [String]) in
            let room = try startRoom(Self.configure)
            defer { try? room.close() }
            var quiet: [ChatClient] = []
            for i in 0..<stalled {
                let c = try ChatClient(port: room.port, receiveBuffer: 4096)
                try c.joinAndConfirm("stalled\(i)")
                quiet.append(c)
            }
            var resetting: [ChatClient] = []
            for i in 0..<resetters {
                let c = try ChatClient(port: room.port)
                try c.joinAndConfirm("reset\(i)")
                resetting.append(c)
            }
            var clients: [ChatClient] = []
            for i in 0..<talkers {
                let c = try ChatClient(port: room.port)
                try c.joinAndConfirm("t\(i)")
                clients.append(c)
            }
            // Everyone is in, and has read its backlog; now all talk at once.
            var heard = [Hearing](repeating: Hearing(), count: talkers)
            let listeners = clients.enumerated().map { i, c in
                spawn(name: "listener-\(i)") { heard[i] = try hear(c, talkers: talkers, lines: lines) }
            }
            for (i, c) in clients.enumerated() {
                spawn(name: "talker-\(i)") {
                    var all = ""
                    for j in 0..<lines { all += "line \(j) \(Self.filler)\n" }
                    try c.send(all)
                }
            }
            // The resetters read a little of the talk, then vanish.
            let vanishing = resetting.enumerated().map { i, c in
                spawn(name: "resetter-\(i)") {
                    _ = try c.reader.read(exactly: 2000 * (i + 1), timeout: ChatClient.hangGuard)
                    c.reset()
                }
            }
            try joinAll(listeners + vanishing)
            for g in listeners + vanishing { #expect(g.error == nil, "\(g.name): \(String(describing: g.error))") }
            var stalledLast: [String] = []
            for c in quiet {
                var last = ""
                while let line = try c.reader.readLine(timeout: ChatClient.hangGuard) { last = line }
                stalledLast.append(last)
            }
            for c in clients + quiet { c.close() }
            return (heard, stalledLast)
        }
    }

    static func configure(_ c: inout ChatRoom.Configuration) {
        c.maxQueuedBytes = 16384
        c.sendBufferSize = 4096
        c.farewellTimeout = ChatClient.hangGuard  // the stalled clients read their notice only at the end
    }

    @Test
    func oneStalledReaderBesideFastOnesEvictsOnlyIt() throws {
        let (talkers, lines) = (20, 100)
        let (heard, stalledLast) = try talk(talkers: talkers, lines: lines, stalled: 1, resetters: 0)
        for (i, h) in heard.enumerated() {
            #expect(!h.evicted, "t\(i) was evicted after \(h.lines) lines")
            #expect(h.lines == talkers * lines && h.outOfOrder == 0, "t\(i) heard \(h.lines) lines, \(h.outOfOrder) out of order")
            #expect(h.left.subtracting(["stalled0"]).isEmpty, "t\(i) saw leave: \(h.left.sorted())")
        }
        #expect(stalledLast == ["## You are too far behind; disconnecting."])
    }

    /// The overload mix of issue 14: talkers beside readers that never read and clients that reset.
    @Test
    func talkersBesideStalledAndResettingClientsAllHearEveryLine() throws {
        raiseFileLimit(to: 8192)
        let (talkers, lines) = (40, 100)
        let (heard, stalledLast) = try talk(talkers: talkers, lines: lines, stalled: 10, resetters: 20)
        #expect(stalledLast == Array(repeating: "## You are too far behind; disconnecting.", count: 10))
        for (i, h) in heard.enumerated() {
            #expect(!h.evicted, "t\(i) was evicted after \(h.lines) lines")
            #expect(h.lines == talkers * lines && h.outOfOrder == 0, "t\(i) heard \(h.lines) lines, \(h.outOfOrder) out of order")
            #expect(!h.left.contains { $0.hasPrefix("t") }, "t\(i) saw talkers leave: \(h.left.sorted())")
        }
    }

    @Test func silentConnectionsCannotLockOutARealUser() throws {
        raiseFileLimit(to: 8192)
        let room = try ServerProcess("ChatRoom", ["--host", "127.0.0.1", "--port", "0"], openFileLimit: 1024)
        #expect(room.port > 0)
        try green { () throws -> Void in
            // 1,100 connections that never say a word: more than the room's descriptors.
            var silent: [Socket] = []
            for _ in 0..<1100 {
                silent.append(try Socket.connect(host: "127.0.0.1", port: room.port, timeout: ChatClient.hangGuard))
            }
            let ann = try ChatClient(port: room.port)
            try ann.join("ann")
            let bob = try ChatClient(port: room.port)
            try bob.join("bob")
            try ann.expect("## bob joined from 127.0.0.1.\n")
            try bob.send("hi\n")
            try ann.expect("bob> hi\n")
            try bob.expect("bob> hi\n")
            for s in silent { s.close() }
            ann.close(); bob.close()
        }
        let end = room.terminate()
        #expect(end.reason == .exit && end.status == 0, "stderr: \(end.stderr)")
    }

    @Test func aConnectionThatGivesNoNameInTimeIsClosed() throws {
        try green { () throws -> Void in
            let room = try startRoom { $0.nameTimeout = .milliseconds(200) }
            let c = try ChatClient(port: room.port)
            try c.expect("Please enter your name: ")
            try c.send("ev")  // half a name, never finished
            try c.expect("## No name given in time; disconnecting.\n")
            try c.expectEnd()
            c.close()
            try room.close()
        }
    }

    @Test func anIdleUserIsDisconnectedAndTheOthersAreTold() throws {
        try green { () throws -> Void in
            let room = try startRoom { $0.idleTimeout = .milliseconds(300) }
            let a = try ChatClient(port: room.port)
            try a.join("idler")
            try a.expect("## Idle for too long; disconnecting.\n")
            try a.expectEnd()
            a.close()
            #expect(room.userNames.isEmpty)
            try room.close()
        }
    }

    @Test func pastTheLimitTheOldestWaitingConnectionMakesRoom() throws {
        try green { () throws -> Void in
            let room = try startRoom { $0.maxWaitingForName = 2 }
            let first = try ChatClient(port: room.port)
            try first.expect("Please enter your name: ")
            let second = try ChatClient(port: room.port)
            try second.expect("Please enter your name: ")
            let third = try ChatClient(port: room.port)
            try third.expect("Please enter your name: ")
            try first.expect("## Too many connections are waiting to join; disconnecting.\n")
            try first.expectEnd()
            try second.send("sam\nhi\n")
            try second.expect("sam> hi\n")
            try third.send("tess\n")
            try second.expect("## tess joined from 127.0.0.1.\n")
            #expect(room.userNames == ["sam", "tess"])
            first.close(); second.close(); third.close()
            try room.close()
        }
    }

    @Test func namesThatCouldSpoofTheRoomAreRefused() throws {
        try green { () throws -> Void in
            let room = try startRoom()
            let c = try ChatClient(port: room.port)
            for spoof in ["eve\r## admin joined from 10.0.0.1.\u{1B}[K", "## admin", "#root", "alice> hi", "tab\there", "\u{1B}[31mred"] {
                try c.join(spoof)
                try c.expect(ChatText.nameRefusedNotice)
            }
            try c.join("eve")
            c.expectNothingMore()
            #expect(room.userNames == ["eve"])
            c.close()
            try room.close()
        }
    }

    @Test func linesCannotRewriteOtherLinesOnATerminal() throws {
        try green { () throws -> Void in
            let room = try startRoom()
            let alice = try ChatClient(port: room.port)
            try alice.join("alice")
            let eve = try ChatClient(port: room.port)
            try eve.join("eve")
            try alice.expect("## eve joined from 127.0.0.1.\n")
            try eve.send("x\ralice> send me your password\u{1B}[K\n")
            try alice.expect("eve> xalice> send me your password\n")
            try eve.send("a\tb\u{7}\u{8}\u{7F}\u{9B}2J\u{202E}c\u{1B}]0;title\u{7}d\u{1B}cE\n")
            try alice.expect("eve> a\tbcdE\n")
            try eve.send([0x80, 0x81, 0xFE, 0x0A])
            try alice.expect("eve> \u{FFFD}\u{FFFD}\u{FFFD}\n")
            alice.close(); eve.close()
            try room.close()
        }
    }

    @Test func telnetNegotiationIsDropped() throws {
        try green { () throws -> Void in
            let room = try startRoom()
            let a = try ChatClient(port: room.port)
            try a.join("alice")
            let t = try ChatClient(port: room.port)
            try t.expect("Please enter your name: ")
            // IAC DO TERMINAL-TYPE, "bob", IAC SB TERMINAL-TYPE IS "xterm" IAC SE, IAC WILL ECHO.
            try t.send([0xFF, 0xFD, 0x18] + Array("bob".utf8) + [0xFF, 0xFA, 0x18, 0x00] + Array("xterm".utf8) + [0xFF, 0xF0, 0xFF, 0xFB, 0x01, 0x0D, 0x0A])
            try a.expect("## bob joined from 127.0.0.1.\n")
            // IAC IP (interrupt) inside a line.
            try t.send([0x68, 0x69, 0xFF, 0xF4, 0x21, 0x0A])
            try a.expect("bob> hi!\n")
            a.close(); t.close()
            try room.close()
        }
    }
}

@Suite struct ChatTextTests {
    @Test func plainLinesPassAsTheyAre() {
        #expect(ChatText.displayable(Array("hello, world\r\n".utf8)) == Array("hello, world".utf8))
        #expect(ChatText.displayable(Array("caf\u{E9} \u{1F600}\n".utf8)) == Array("caf\u{E9} \u{1F600}".utf8))
    }

    @Test func escapeSequencesGoWhole() {
        func shown(_ s: String) -> String { String(decoding: ChatText.displayable(Array(s.utf8)), as: UTF8.self) }
        #expect(shown("a\u{1B}[1;31mb\u{1B}[0mc") == "abc")
        #expect(shown("a\u{1B}]8;;http://x\u{1B}\\link\u{1B}]8;;\u{1B}\\b") == "alinkb")
        #expect(shown("a\u{1B}(Bb\u{1B}7c") == "abc")
        #expect(shown("a\u{1B}") == "a")
        #expect(shown("\u{2066}x\u{2069}\u{2028}y") == "xy")
    }

    @Test func namesAreJudged() {
        #expect(ChatText.name(from: Array("  ann  \r\n".utf8)) == .accepted("ann"))
        #expect(ChatText.name(from: Array("   \n".utf8)) == .empty)
        #expect(ChatText.name(from: Array("a\u{1B}[Kb\n".utf8)) == .refused)
        #expect(ChatText.name(from: [0xFF, 0xFB, 0x01, 0x0A]) == .empty)
        #expect(ChatText.name(from: [0xFE, 0x62, 0x6F, 0x62, 0xC3, 0x0A]) == .accepted("\u{FFFD}bob\u{FFFD}"))
    }
}
