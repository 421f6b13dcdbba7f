import Foundation
import Green
import GreenHTTP
import HTTPTypes
import Testing

@Suite struct RoutingTests {
    struct Note: Codable, Equatable {
        var title: String
        var tags: [String]
    }

    static func router() -> Router {
        let router = Router()
        router.get("/") { _ in .text("home") }
        router.post("/put/<room>/<uid>") { request in
            let form = try request.form()
            return .text("\(request.parameters["room"]!)|\(request.parameters["uid"]!)|\(form["message"] ?? "-")")
        }
        router.get("/search") { request in .text("q=\(request.query["q"] ?? "") page=\(request.query["page"] ?? "1")") }
        router.post("/notes") { request in
            var note = try request.decode(Note.self)
            note.tags.append("seen")
            return try .json(note, status: .created)
        }
        return router
    }

    @Test func routesMatchMethodAndPatternWithParameters() throws {
        try green {
            let server = try startServer(router: Self.router())
            let client = HTTPClient()
            let base = "http://127.0.0.1:\(server.port)"
            #expect(try client.get(base + "/").text == "home")
            let put = try client.post(base + "/put/foo/al%20ice", form: FormParameters([("message", "hi & <bye>")]))
            #expect(put.text == "foo|al ice|hi & <bye>")
            #expect(try client.get(base + "/search?q=a+b%26c&page=2").text == "q=a b&c page=2")
            let missing = try client.get(base + "/nothing/here")
            #expect(missing.status == .notFound)
            let wrongMethod = try client.get(base + "/put/foo/bar")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headerFields[.allow] == "POST")
            try server.stop()
        }
    }

    @Test func jsonThroughCodable() throws {
        try green {
            let server = try startServer(router: Self.router())
            let client = HTTPClient()
            let url = "http://127.0.0.1:\(server.port)/notes"
            let r = try client.post(url, json: Note(title: "t", tags: ["a"]))
            #expect(r.status == .created)
            #expect(r.headerFields[.contentType] == "application/json")
            #expect(try r.decode(Note.self) == Note(title: "t", tags: ["a", "seen"]))
            let bad = try client.post(url, body: Array("{not json".utf8), contentType: "application/json")
            #expect(bad.status == .badRequest)
            try server.stop()
        }
    }

    @Test func formDecoding() {
        let form = FormParameters(encoded: "message=hello+world%21&empty=&flag&message=%E2%9C%93")
        #expect(form["message"] == "hello world!")
        #expect(form.values("message") == ["hello world!", "✓"])
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
        #expect(form["absent"] == nil)
        #expect(FormParameters(encoded: FormParameters([("a b", "x&y=z")]).encoded)["a b"] == "x&y=z")
    }

    @Test func staticFilesStayUnderTheirRoot() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("greenhttp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let root = dir.appendingPathComponent("public")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("css"), withIntermediateDirectories: true)
        try "body {}".write(to: root.appendingPathComponent("css/site.css"), atomically: true, encoding: .utf8)
        try "<h1>home</h1>".write(to: root.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        try "secret".write(to: dir.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent("escape.txt"), withDestinationURL: dir.appendingPathComponent("secret.txt"))
        let big = [UInt8](repeating: 65, count: 3 << 20)
        try Data(big).write(to: root.appendingPathComponent("big.bin"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let rootPath = root.path
        try green {
            let router = Router()
            router.files("/static", root: rootPath)
            let server = try startServer(router: router)
            let c = try RawClient(port: server.port)
            func get(_ path: String) throws -> RawResponse {
                try c.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
                return try c.response()
            }
            let css = try get("/static/css/site.css")
            #expect(css.text == "body {}")
            #expect(css.header("Content-Type") == "text/css; charset=utf-8")
            let index = try get("/static/")
            #expect(index.status == 404)  // "/static/" has no file segment
            let dirIndex = try get("/static/css/../index.html")
            #expect(dirIndex.status == 404)
            for escape in ["/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/css/%2E%2E%2F%2E%2E%2Fsecret.txt",
                           "/static/escape.txt", "/static/..%2fsecret.txt", "/static/%00secret"] {
                let r = try get(escape)
                #expect(r.status == 404, "\(escape)")
                #expect(!r.text.contains("secret") || r.status == 404)
            }
            let large = try get("/static/big.bin")
            #expect(large.header("Content-Length") == String(3 << 20))
            #expect(large.body == big)
            #expect(large.header("Content-Type") == "application/octet-stream")
            try server.stop()
        }
    }
}
