import Foundation
import Glibc
import Green
import GreenChat
import GreenTestSupport
import Testing

/// Starts a room on every hub of `runtime`, on 127.0.0.1 and a free port.
func startRoom(on runtime: GreenRuntime, _ configure: (inout ChatRoom.Configuration) -> Void = { _ in }) throws -> MultiHubChatRoom {
    var config = ChatRoom.Configuration()
    configure(&config)
    let room = MultiHubChatRoom(runtime: runtime, host: "127.0.0.1", port: 0, configuration: config)
    try room.start()
    return room
}

/// Joins the room as `name` on hub `hub`: the kernel spreads connections over
/// the hubs' listeners (`SO_REUSEPORT`), so a connection that landed on
/// another hub is closed and tried again. Each client in `present` hears
/// every try's join (and leave), checked here. Returns once every hub has
/// queued the join notice (see `confirmJoin`).
func join(_ room: MultiHubChatRoom, _ name: String, onHub hub: Int, present: [ChatClient],
          receiveBuffer: Int32? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> ChatClient {
    for _ in 0..<500 {
        let c = try ChatClient(port: room.port, receiveBuffer: receiveBuffer)
        try c.join(name)
        try confirmJoin(c, name, present: present, sourceLocation: sourceLocation)
        if room.hubIndex(ofUser: name) == hub { return c }
        c.close()
        for p in present { try p.expect("## \(name) left the chat.\n", sourceLocation: sourceLocation) }
        // Freed once every hub has queued the leave notice.
        while room.hubIndex(ofUser: name) != nil { try sleep(.milliseconds(1)) }
    }
    Issue.record("no connection reached hub \(hub) in 500 tries", sourceLocation: sourceLocation)
    throw SocketError.timedOut
}

/// Waits until `name`'s join is known on every hub, by events: the newcomer
/// says two lines and hears the second back. Its reader reads a line only
/// after the one before was queued on every hub, and the join notice went to
/// each hub before the first line (both from the newcomer's hub's thread, in
/// order). Each client in `present` hears the join notice and both lines.
func confirmJoin(_ c: ChatClient, _ name: String, present: [ChatClient],
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
    try c.send("\(name) 1\n\(name) 2\n")
    for p in present { try p.expect("## \(name) joined from 127.0.0.1.\n", sourceLocation: sourceLocation) }
    for p in present + [c] { try p.expect("\(name)> \(name) 1\n\(name)> \(name) 2\n", sourceLocation: sourceLocation) }
}

/// A chat room served on two hubs (`MultiHubChatRoom`), with real loopback
/// clients on a third thread; the ChatRoom sample with `--hubs 2` as a child.
@Suite struct CrossHubChatRoomTests {
    @Test func everyUserHearsEveryLineInOrderAndJoinsAndLeavesCrossHubs() throws {
        try withTwoHubs { runtime in
            let room = try startRoom(on: runtime)
            let bob = try join(room, "bob", onHub: 1, present: [])
            let alice = try join(room, "alice", onHub: 0, present: [bob])
            let carol = try join(room, "carol", onHub: 1, present: [bob, alice])
            let dave = try join(room, "dave", onHub: 0, present: [bob, alice, carol])
            let users = [("alice", alice), ("bob", bob), ("carol", carol), ("dave", dave)]
            #expect(room.userNames == ["alice", "bob", "carol", "dave"])

            // A name taken on one hub is taken on every hub.
            for _ in 0..<8 {
                let c = try ChatClient(port: room.port)
                try c.join("alice")
                try c.expect("That username is already taken.\n")
                c.close()
            }

            // Everyone talks at once; everyone hears every line, each speaker's in order.
            let lines = 50
            let talkers = users.map { (name, c) in
                spawn(name: "talk-\(name)") {
                    for i in 0..<lines { try c.send("\(name) \(i)\n") }
                }
            }
            let listeners = users.map { (name, c) in
                spawn(name: "hear-\(name)") { () throws -> [String: Int] in
                    var next: [String: Int] = [:]
                    for _ in 0..<(lines * users.count) {
                        guard let line = try c.reader.readLine(timeout: ChatClient.hangGuard) else { break }
                        // "bob> bob 7"
                        let parts = line.split(separator: " ")
                        guard parts.count == 3, parts[0] == "\(parts[1])>", let i = Int(parts[2]) else {
                            Issue.record("\(name) heard an unexpected line: \(line)")
                            break
                        }
                        let speaker = String(parts[1])
                        #expect(i == next[speaker, default: 0], "\(name) heard \(speaker)'s line \(i) out of order")
                        next[speaker] = i + 1
                    }
                    return next
                }
            }
            try joinAll(talkers + listeners)
            for t in talkers { #expect(t.error == nil) }
            for l in listeners {
                let heard = try l.get()
                #expect(heard == ["alice": lines, "bob": lines, "carol": lines, "dave": lines])
            }

            // Leaves reach both hubs.
            carol.close()
            for c in [alice, bob, dave] { try c.expect("## carol left the chat.\n") }
            dave.close()
            for c in [alice, bob] { try c.expect("## dave left the chat.\n") }
            try bob.send("bye\n")
            try alice.expect("bob> bye\n")
            try bob.expect("bob> bye\n")
            alice.expectNothingMore()
            bob.expectNothingMore()
            #expect(room.userNames == ["alice", "bob"])

            try room.close()
            for c in [alice, bob] {
                try c.expect("## The room is closing.\n")
                try c.expectEnd()
                c.close()
            }
        }
    }

    @Test func aStalledReaderOnHubOneIsEvictedWhileHubZeroGoesOn() throws {
        try withTwoHubs { runtime in
            let room = try startRoom(on: runtime) {
                $0.maxQueuedBytes = 16384
                $0.sendBufferSize = 4096
                $0.farewellTimeout = .seconds(20)
            }
            let slow = try join(room, "slow", onHub: 1, present: [], receiveBuffer: 4096)
            let fast = try join(room, "fast", onHub: 0, present: [slow])
            let other = try join(room, "other", onHub: 0, present: [slow, fast])
            // `slow` reads nothing from here on; `fast` talks, `fast` and `other` read.
            var sawLeft = [false, false]
            var echoed = [0, 0]
            let listeners = [fast, other].enumerated().map { (k, c) in
                spawn {
                    while let line = try c.reader.readLine(timeout: ChatClient.hangGuard) {
                        if line == "## slow left the chat." { sawLeft[k] = true; return }
                        if line.hasPrefix("fast> ") { echoed[k] += 1 }
                    }
                }
            }
            let filler = String(repeating: "z", count: 200)
            var sent = 0
            while !sawLeft[0] && sent < 100_000 {
                try fast.send("\(sent) \(filler)\n")
                sent += 1
                // Both readers keep up: only `slow` falls behind.
                while sent - min(echoed[0], echoed[1]) >= 10 && !sawLeft[0] { try sleep(.milliseconds(1)) }
            }
            try joinAll(listeners)
            for l in listeners { #expect(l.error == nil) }
            #expect(sawLeft == [true, true])
            #expect(echoed[0] > 0 && echoed[1] > 0)
            #expect(room.userNames == ["fast", "other"])
            // The room goes on without it.
            try fast.send("still here\n")
            for c in [fast, other] {
                var line = ""
                repeat { line = try c.reader.readLine(timeout: ChatClient.hangGuard) ?? "" } while line.hasPrefix("fast> ") && line != "fast> still here"
                #expect(line == "fast> still here")
            }
            // The stalled client, reading again, is told why, then disconnected.
            var last = ""
            while let line = try slow.reader.readLine(timeout: ChatClient.hangGuard) { last = line }
            #expect(last == "## You are too far behind; disconnecting.")
            slow.close(); fast.close(); other.close()
            try room.close()
        }
    }

    @Test func theSampleOnTwoHubsServesEveryoneAndExitsZeroOnSigterm() throws {
        let server = try ServerProcess("ChatRoom", ["--host", "127.0.0.1", "--port", "0", "--hubs", "2"])
        #expect(server.port > 0)
        try green { () throws -> Void in
            // Enough users that both hubs almost surely serve some (the kernel picks).
            let names = (0..<6).map { "u\($0)" }
            var clients: [ChatClient] = []
            for name in names {
                let c = try ChatClient(port: server.port)
                try c.join(name)
                try confirmJoin(c, name, present: clients)
                clients.append(c)
            }
            for (name, c) in zip(names, clients) {
                try c.send("hi from \(name)\n")
                for p in clients { try p.expect("\(name)> hi from \(name)\n") }
            }
            kill(server.process.processIdentifier, SIGTERM)
            for c in clients {
                try c.expect("## The room is closing.\n")
                try c.expectEnd()
                c.close()
            }
        }
        let status = try server.process.waitUntilExit()
        #expect(status.reason == .exit)
        #expect(status.code == 0)
    }
}
