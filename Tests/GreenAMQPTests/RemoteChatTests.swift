import Foundation
import Glibc
import Green
import GreenTestSupport
import Testing

/// A telnet-like user of a chat room process.
final class RoomUser {
    let socket: Socket
    let reader: BufferedReader
    /// Only a guard against a hang, never a figure under test.
    static let hangGuard: Duration = .seconds(300)

    init(port: Int) throws {
        socket = try Socket(family: .ipv4)
        try socket.connect(to: .loopback(port: port), timeout: RoomUser.hangGuard)
        reader = BufferedReader(socket)
    }

    func expect(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let got = try reader.read(exactly: text.utf8.count, timeout: RoomUser.hangGuard)
        #expect(String(decoding: got, as: UTF8.self) == text, sourceLocation: sourceLocation)
    }

    /// Reads lines until `line` (with its newline); the lines before it may
    /// only be join notices of `joins`. What one process publishes arrives
    /// in order, but notices and lines from different processes (different
    /// connections to the broker) interleave as they come, so a join notice
    /// from elsewhere may arrive after later lines from a third process.
    func expectLine(_ line: String, skippingJoinsOf joins: [String] = ["ann", "bob", "cat"],
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        // readLine gives lines without their newline.
        let allowed = Set(joins.map { "## \($0) joined from 127.0.0.1." })
        let wanted = line.hasSuffix("\n") ? String(line.dropLast()) : line
        while let got = try reader.readLine(timeout: RoomUser.hangGuard) {
            if got == wanted { return }
            #expect(allowed.contains(got), "unexpected line \(got.debugDescription)", sourceLocation: sourceLocation)
            if !allowed.contains(got) { return }
        }
        Issue.record("the room closed before \(line.debugDescription)", sourceLocation: sourceLocation)
    }

    func say(_ text: String) throws { try socket.sendAll(text + "\n", timeout: RoomUser.hangGuard) }

    func join(_ name: String) throws {
        try expect("Please enter your name: ")
        try say(name)
    }
}

/// Starts `RemoteChatRoom` as node `node` in `room`; returns it and its port.
func startChatProcess(node: String, room: String) throws -> (ChildProcess, Int) {
    let p = try ChildProcess(builtProduct("RemoteChatRoom").path,
                             ["--port", "0", "--broker", Broker.url, "--node", node, "--room", room],
                             environment: ["SWIFT_BACKTRACE": "enable=no"], stdout: .pipe)
    // "To join, telnet 127.0.0.1 PORT" once its node and link are up (or end of output).
    let banner = try p.readLine() ?? ""
    let words = banner.split(separator: " ")
    return (p, Int(words.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0)
}

extension BrokerTests {
    /// The chat room spread over three processes joined by one broker.
    @Suite struct RemoteChatTests {
        @Test func usersOfThreeProcessesTalkAndAKilledProcessLosesOnlyItsOwn() throws {
            try Broker.ensure()
            let room = uniqueName("room")
            var processes: [ChildProcess] = []
            defer { for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
            var ports: [Int] = []
            for i in 0..<3 {
                let (p, port) = try startChatProcess(node: uniqueName("chat\(i)"), room: room)
                processes.append(p)
                ports.append(port)
                try #require(port > 0, "process \(i) did not start")
            }
            let doomed = processes[2].processIdentifier
            try green(limit: .seconds(600)) { () throws -> Void in
                let ann = try RoomUser(port: ports[0])
                try ann.join("ann")
                let bob = try RoomUser(port: ports[1])
                try bob.join("bob")
                try ann.expectLine("## bob joined from 127.0.0.1.\n")
                let cat = try RoomUser(port: ports[2])
                try cat.join("cat")
                try ann.expectLine("## cat joined from 127.0.0.1.\n")
                try bob.expectLine("## cat joined from 127.0.0.1.\n")

                try ann.say("hello from the first")
                try ann.expectLine("ann> hello from the first\n")
                try bob.expectLine("ann> hello from the first\n")
                try cat.expectLine("ann> hello from the first\n")
                try cat.say("hello from the third")
                for u in [ann, bob, cat] { try u.expectLine("cat> hello from the third\n") }

                // The third process dies: only its user is lost, and the others hear so.
                kill(doomed, SIGKILL)
                try ann.expectLine("## cat left the chat.\n")
                try bob.expectLine("## cat left the chat.\n")
                try bob.say("still here")
                for u in [ann, bob] { try u.expectLine("bob> still here\n") }
                ann.socket.close()
                bob.socket.close()
            }
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
            var ends: [ChildProcess.Status] = []
            for p in processes { ends.append(try p.waitUntilExit()) }
            #expect(ends[2].reason == .uncaughtSignal)
        }
    }
}
