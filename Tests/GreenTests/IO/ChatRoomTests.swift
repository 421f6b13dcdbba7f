import Foundation
import Glibc
import Green
import GreenChat
import GreenTestSupport
import Testing

/// A telnet-like test client of the chat room.
final class ChatClient {
    let socket: Socket
    let reader: BufferedReader
    /// How long a client waits before it reports a hang: only a guard, never a
    /// figure under test (a loaded 2-core machine can stall a test for tens of seconds).
    static let hangGuard: Duration = .seconds(300)

    init(port: Int, receiveBuffer: Int32? = nil) throws {
        let s = try Socket(family: .ipv4)
        if let receiveBuffer { try s.setOption(SOL_SOCKET, SO_RCVBUF, receiveBuffer) }
        try s.connect(to: .loopback(port: port), timeout: ChatClient.hangGuard)
        socket = s
        reader = BufferedReader(s)
    }

    /// Reads as many bytes as `text` has and checks they are `text`.
    func expect(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let got = try reader.read(exactly: text.utf8.count, timeout: ChatClient.hangGuard)
        #expect(got.text == text, sourceLocation: sourceLocation)
    }

    func expectBytes(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let got = try reader.read(exactly: bytes.count, timeout: ChatClient.hangGuard)
        #expect(got == bytes, sourceLocation: sourceLocation)
    }

    /// Checks that nothing more has arrived (a short wait, not a timing assertion).
    func expectNothingMore(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: SocketError.timedOut, sourceLocation: sourceLocation) {
            _ = try self.reader.read(maxBytes: 1, timeout: .milliseconds(30))
        }
    }

    func expectEnd(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let rest = try reader.read(maxBytes: 1 << 16, timeout: ChatClient.hangGuard)
        #expect(rest.isEmpty, "unexpected: \(rest.text)", sourceLocation: sourceLocation)
    }

    func send(_ text: String) throws { try socket.sendAll(text, timeout: ChatClient.hangGuard) }
    func send(_ bytes: [UInt8]) throws { try socket.sendAll(bytes, timeout: ChatClient.hangGuard) }

    /// Answers the prompt with `name`.
    func join(_ name: String) throws {
        try expect("Please enter your name: ")
        try send(name + "\n")
    }

    func close() { socket.close() }
}

/// Raises the soft limit on open files as far as the hard limit allows.
func raiseFileLimit(to wanted: rlim_t) {
    var lim = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
    if lim.rlim_cur < wanted {
        lim.rlim_cur = min(wanted, lim.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
    }
}

func startRoom(_ configure: (inout ChatRoom.Configuration) -> Void = { _ in }) throws -> ChatRoom {
    var config = ChatRoom.Configuration()
    configure(&config)
    let room = ChatRoom(host: "127.0.0.1", port: 0, configuration: config)
    try room.start()
    return room
}

@Suite struct IOChatRoomTests {
    @Test func theProtocolToTheByte() throws {
        try green { () throws -> Void in
            let room = try startRoom()
            let a = try ChatClient(port: room.port)
            try a.expect("Please enter your name: ")
            try a.send("\n")  // empty: asked again
            try a.expect("Please enter your name: ")
            try a.send("   \r\n")  // blank: asked again
            try a.expect("Please enter your name: ")
            try a.send("alice\r\n")

            let b = try ChatClient(port: room.port)
            try b.join("alice")
            try b.expect("That username is already taken.\n")
            try b.expect("Please enter your name: ")
            try b.send("bob\n")
            try a.expect("## bob joined from 127.0.0.1.\n")

            try a.send("hello\r\n")
            try a.expect("alice> hello\n")
            try b.expect("alice> hello\n")
            try b.send("hi there\n")
            try a.expect("bob> hi there\n")
            try b.expect("bob> hi there\n")
            try b.send("\n")
            try a.expect("bob> \n")
            try b.expect("bob> \n")

            b.close()
            try a.expect("## bob left the chat.\n")
            // The name is free again.
            let c = try ChatClient(port: room.port)
            try c.join("bob")
            try a.expect("## bob joined from 127.0.0.1.\n")
            try c.send("back\n")
            try a.expect("bob> back\n")
            try c.expect("bob> back\n")
            a.expectNothingMore()
            c.expectNothingMore()
            #expect(room.userNames == ["alice", "bob"])
            a.close(); c.close()
            try room.close()
        }
    }

    @Test func anOverlongLineIsRefusedWithANotice() throws {
        try green { () throws -> Void in
            let room = try startRoom { $0.maxLineLength = 100 }
            let a = try ChatClient(port: room.port)
            try a.join("alice")
            let b = try ChatClient(port: room.port)
            try b.join("bob")
            try a.expect("## bob joined from 127.0.0.1.\n")
            try a.send(String(repeating: "x", count: 5000) + "\n")
            try a.expect("## Line too long (limit 100 bytes); not sent.\n")
            try a.send(String(repeating: "y", count: 100) + "\n")  // exactly the limit
            let fine = "alice> " + String(repeating: "y", count: 100) + "\n"
            try a.expect(fine)
            try b.expect(fine)
            // An overlong name is refused too.
            let c = try ChatClient(port: room.port)
            try c.join(String(repeating: "n", count: 200))
            try c.expect("## Line too long (limit 100 bytes); not sent.\n")
            try c.join("carol")
            try a.expect("## carol joined from 127.0.0.1.\n")
            try b.expect("## carol joined from 127.0.0.1.\n")
            b.expectNothingMore()
            a.close(); b.close(); c.close()
            try room.close()
        }
    }

    @Test func bytesThatAreNotUTF8DoNotBreakAnything() throws {
        try green { () throws -> Void in
            let room = try startRoom()
            let a = try ChatClient(port: room.port)
            try a.join("alice")
            let b = try ChatClient(port: room.port)
            try b.expect("Please enter your name: ")
            try b.send([0xFE, 0x62, 0x6F, 0x62, 0xC3, 0x0A])
            try a.expect("## \u{FFFD}bob\u{FFFD} joined from 127.0.0.1.\n")
            try a.send([0x80, 0x81, 0xFE, 0x0A])
            // Only valid UTF-8 leaves the room: each stray byte shows as U+FFFD.
            let expected = Array("alice> \u{FFFD}\u{FFFD}\u{FFFD}\n".utf8)
            try a.expectBytes(expected)
            try b.expectBytes(expected)
            a.close(); b.close()
            try room.close()
        }
    }

    @Test func aClientVanishingMidLineIsCleanedUp() throws {
        try green { () throws -> Void in
            let room = try startRoom()
            let a = try ChatClient(port: room.port)
            try a.join("alice")
            let b = try ChatClient(port: room.port)
            try b.join("bob")
            try a.expect("## bob joined from 127.0.0.1.\n")
            try b.send("half a li")
            b.close()
            try a.expect("## bob left the chat.\n")
            // Mid-name too, and by reset.
            let c = try ChatClient(port: room.port)
            try c.expect("Please enter your name: ")
            try c.send("car")
            var lg = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(c.socket.fd, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
            c.close()
            a.expectNothingMore()
            #expect(room.userNames == ["alice"])
            a.close()
            try room.close()
        }
    }

    @Test func aStalledClientIsDisconnectedWithoutSlowingTheRoom() throws {
        try green { () throws -> Void in
            let room = try startRoom {
                $0.maxQueuedBytes = 16384
                $0.sendBufferSize = 4096
                $0.farewellTimeout = .seconds(20)
            }
            let slow = try ChatClient(port: room.port, receiveBuffer: 4096)
            try slow.join("slow")
            let fast = try ChatClient(port: room.port)
            try fast.join("fast")
            // `slow` reads nothing from here on; `fast` talks and reads its own lines back.
            var sawLeft = false
            var echoed = 0
            let listener = spawn {
                while let line = try fast.reader.readLine(timeout: ChatClient.hangGuard) {
                    if line == "## slow left the chat." { sawLeft = true; return }
                    if line.hasPrefix("fast> ") { echoed += 1 }
                }
            }
            let filler = String(repeating: "z", count: 200)
            var sent = 0
            while !sawLeft && sent < 100_000 {
                try fast.send("\(sent) \(filler)\n")
                sent += 1
                // `fast` keeps up with its own lines: only `slow` falls behind.
                while sent - echoed >= 10 && !sawLeft { try sleep(.milliseconds(1)) }
            }
            try listener.join()
            #expect(listener.error == nil)
            #expect(sawLeft)
            #expect(echoed > 0)
            #expect(room.userNames == ["fast"])
            // The stalled client, reading again, is told why, then disconnected.
            var last = ""
            while let line = try slow.reader.readLine(timeout: ChatClient.hangGuard) { last = line }
            #expect(last == "## You are too far behind; disconnecting.")
            slow.close(); fast.close()
            try room.close()
        }
    }

    @Test func closingTheRoomTellsEveryone() throws {
        try green { () throws -> Void in
            let room = try startRoom()
            let a = try ChatClient(port: room.port)
            try a.join("alice")
            let unnamed = try ChatClient(port: room.port)
            try unnamed.expect("Please enter your name: ")
            try a.send("bye\n")
            try a.expect("alice> bye\n")
            try room.close()
            try a.expect("## The room is closing.\n")
            try a.expectEnd()
            try unnamed.expect("## The room is closing.\n")
            try unnamed.expectEnd()
            a.close(); unnamed.close()
        }
    }

    @Test func aThousandClientsEachSeeEveryMessage() throws {
        raiseFileLimit(to: 8192)
        let n = 1000
        let (complete, names) = try green { () -> (Int, Int) in
            let room = try startRoom()
            let port = room.port
            var complete = 0
            var joined = 0
            var connected: [ChatClient?] = Array(repeating: nil, count: n)
            let clients = (0..<n).map { i in
                spawn(name: "client-\(i)") {
                    let c = try ChatClient(port: port)
                    connected[i] = c
                    try c.join("user\(i)")
                    joined += 1
                }
            }
            try joinAll(clients)
            for c in clients { #expect(c.error == nil) }
            while room.userNames.count < n { try sleep(.milliseconds(1)) }
            let names = room.userNames.count
            let talkers = (0..<n).map { i in
                spawn(name: "talker-\(i)") {
                    let c = connected[i]!
                    try c.send("hello from \(i)\n")
                    var seen = [Bool](repeating: false, count: n)
                    var count = 0
                    while count < n {
                        guard let line = try c.reader.readLine(timeout: ChatClient.hangGuard) else { return }
                        if line.hasPrefix("## ") { continue }  // joins of later users
                        guard let gt = line.firstIndex(of: ">"),
                              let k = Int(line[line.index(line.startIndex, offsetBy: 4)..<gt]),
                              line == "user\(k)> hello from \(k)", !seen[k] else {
                            Issue.record("unexpected line \(line)")
                            return
                        }
                        seen[k] = true
                        count += 1
                    }
                    complete += 1
                }
            }
            try joinAll(talkers)
            for t in talkers { #expect(t.error == nil) }
            for c in connected { c?.close() }
            try room.close()
            return (complete, names)
        }
        #expect(names == n)
        #expect(complete == n)
    }

    @Test func sigtermTellsEveryoneAndExitsZero() throws {
        let p = try ChildProcess(builtProduct("ChatRoom").path, ["--host", "127.0.0.1", "--port", "0"],
                                 environment: ["SWIFT_BACKTRACE": "enable=no"], stdout: .pipe)
        // "To join, telnet 127.0.0.1 PORT"
        let banner = try p.readLine() ?? ""
        let words = banner.split(separator: " ")
        let port = Int(words.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(port > 0)
        let pid = p.processIdentifier
        try green { () throws -> Void in
            let a = try ChatClient(port: port)
            try a.join("ann")
            try a.send("hi\n")
            try a.expect("ann> hi\n")
            kill(pid, SIGTERM)
            try a.expect("## The room is closing.\n")
            try a.expectEnd()
            a.close()
        }
        let status = try p.waitUntilExit()
        #expect(status.reason == .exit)
        #expect(status.code == 0)
    }
}
