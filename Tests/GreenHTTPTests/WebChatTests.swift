import Foundation
import Green
import GreenHTTP
import GreenTestSupport
import GreenWebChat
import HTTPTypes
import Testing

@Suite struct WebChatTests {
    static func start(_ change: (inout WebChat.Configuration) -> Void = { _ in }) throws -> (WebChat, HTTPServer, String) {
        var c = WebChat.Configuration()
        c.pollTimeout = .milliseconds(300)
        change(&c)
        let chat = WebChat(configuration: c)
        let server = try startServer(router: chat.router)
        return (chat, server, "http://127.0.0.1:\(server.port)")
    }

    @Test func theSeedsRoutesAndRooms() throws {
        try green {
            let (chat, server, base) = try Self.start()
            let client = HTTPClient()
            #expect(try client.get(base + "/").text.contains("Your name"))
            let list = try client.get(base + "/alice").text
            #expect(list.contains("href=\"/foo/alice\"") && list.contains("href=\"/bar/alice\""))
            for (room, uid) in [("foo", "alice"), ("foo", "bob"), ("bar", "carol")] {
                #expect(try client.get("\(base)/\(room)/\(uid)").status == .ok)
            }
            #expect(chat.members(of: "foo") == ["alice", "bob"])
            #expect(try client.get(base + "/baz/alice").status == .notFound)

            let bobPoll = spawn { try client.execute(.post, base + "/poll/bob").decode([String].self) }
            let carolPoll = spawn { try client.execute(.post, base + "/poll/carol").decode([String].self) }
            try yieldGreenlet()
            #expect(try client.post(base + "/put/foo/alice", form: FormParameters([("message", "hi")])).status == .ok)
            #expect(try bobPoll.get() == ["alice:hi"])
            #expect(try carolPoll.get() == [])  // bar never sees foo's messages: [] on timeout
            // Messages waiting are all returned by the next poll, in order.
            _ = try client.post(base + "/put/foo/bob", form: FormParameters([("message", "one")]))
            _ = try client.post(base + "/put/foo/bob", form: FormParameters([("message", "two")]))
            #expect(try client.execute(.post, base + "/poll/alice").decode([String].self) == ["alice:hi", "bob:one", "bob:two"])
            #expect(try client.execute(.post, base + "/poll/nobody").status == .notFound)
            try server.stop()
        }
    }

    @Test func messagesAreEscapedInPages() throws {
        try green {
            let (_, server, base) = try Self.start()
            let client = HTTPClient()
            _ = try client.get(base + "/foo/mallory")
            _ = try client.post(base + "/put/foo/mallory", form: FormParameters([("message", "<script>alert('x')</script>&")]))
            let page = try client.get(base + "/foo/%3Cb%3Eeve").text
            #expect(page.contains("mallory:&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"))
            #expect(!page.contains("<script>alert"))
            #expect(page.contains("data-uid=\"&lt;b&gt;eve\""))
            try server.stop()
        }
    }

    @Test func idleUsersAreDropped() throws {
        try green {
            let (chat, server, base) = try Self.start { $0.idleTimeout = .milliseconds(50) }
            let client = HTTPClient()
            _ = try client.get(base + "/foo/idle")
            _ = try client.get(base + "/foo/active")
            let polling = spawn { try client.execute(.post, base + "/poll/active", timeout: .seconds(20)) }
            try sleep(.milliseconds(100))  // longer than the idle timeout: the point of the test
            chat.sweep()
            #expect(chat.members(of: "foo") == ["active"])  // a poll is waiting: kept
            #expect(chat.userCount == 1)
            _ = try polling.get()
            try server.stop()
        }
    }
}

@Suite struct SampleTests {
    /// Starts a sample that prints "Serving on http://127.0.0.1:PORT/"; returns it and the port.
    static func startSample(_ name: String, _ args: [String]) throws -> (ChildProcess, Int) {
        let p = try ChildProcess(builtProduct(name).path, args, stdout: .pipe, stderr: .null)
        let text = try p.readLine() ?? ""
        let port = Int(text.split(separator: ":").last?.filter(\.isNumber) ?? "") ?? 0
        return (p, port)
    }

    @Test func helloHTTPAnswersTheSeedsHelloAndStopsOnSIGTERM() throws {
        try green {
            let (p, port) = try Self.startSample("HelloHTTP", ["--host", "127.0.0.1", "--port", "0", "--no-access-log"])
            let r = try HTTPClient().get("http://127.0.0.1:\(port)/")
            #expect(r.text == "Hello Cruel World!")
            #expect(r.headerFields[.contentType] == "text/html")
            kill(p.processIdentifier, SIGTERM)
            #expect(try p.waitUntilExit() == .exited(0))
        }
    }

    @Test func downloadMapsAPoolOver100URLs() throws {
        let r = try ChildProcess.run(builtProduct("Download").path, timeout: .seconds(600))
        let text = r.stdoutText
        #expect(r.status == .exited(0), "\(r.stderrText)")
        #expect(text.contains("This is /page/1."))
        #expect(text.contains("downloaded 100 pages"))
    }
}
