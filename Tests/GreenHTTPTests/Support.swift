import Foundation
import Glibc
import Green
import GreenHTTP
import HTTPTypes
import Testing

/// Runs green code on a thread of its own (Swift Testing runs tests on the
/// cooperative pool, which a hub must not hold).
func green<T>(_ body: @escaping () throws -> T) throws -> T {
    try runInNewThread(body)
}

/// A quiet configuration for tests (no access log on the test's output).
func quiet(_ change: (inout HTTPServer.Configuration) -> Void = { _ in }) -> HTTPServer.Configuration {
    var c = HTTPServer.Configuration()
    c.accessLog = nil
    change(&c)
    return c
}

/// A started server on 127.0.0.1 and a free port.
func startServer(
    _ configure: (inout HTTPServer.Configuration) -> Void = { _ in }, handler: @escaping HTTPServer.Handler
) throws -> HTTPServer {
    let server = HTTPServer(host: "127.0.0.1", port: 0, configuration: quiet(configure), handler: handler)
    try server.start()
    return server
}

/// A started server routing through `router`.
func startServer(
    router: Router, _ configure: (inout HTTPServer.Configuration) -> Void = { _ in }
) throws -> HTTPServer {
    let server = HTTPServer(host: "127.0.0.1", port: 0, configuration: quiet(configure), router: router)
    try server.start()
    return server
}

/// A response as read off the wire by `RawClient`.
struct RawResponse {
    var statusLine: String
    var headers: [(String, String)]
    var body: [UInt8]
    var status: Int { Int(statusLine.split(separator: " ")[1]) ?? 0 }
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

/// A client that writes exact bytes and reads responses by hand: what a
/// test needs to send malformed, smuggling or pipelined requests.
final class RawClient {
    let socket: Socket
    let reader: BufferedReader

    init(port: Int) throws {
        socket = try Socket.connect(to: .loopback(port: port), timeout: .seconds(10))
        reader = BufferedReader(socket)
    }

    func send(_ text: String) throws { try socket.sendAll(text, timeout: .seconds(20)) }
    func send(_ bytes: [UInt8]) throws { try socket.sendAll(bytes, timeout: .seconds(20)) }

    /// Reads one response; `head` true: the request was HEAD (no body).
    func response(head: Bool = false) throws -> RawResponse {
        guard let statusLine = try reader.readLine(timeout: .seconds(20)) else { throw SocketError.closed }
        var headers: [(String, String)] = []
        while let line = try reader.readLine(timeout: .seconds(20)), !line.isEmpty {
            let colon = line.firstIndex(of: ":")!
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        var r = RawResponse(statusLine: statusLine, headers: headers, body: [])
        let status = r.status
        if head || (100..<200).contains(status) || status == 204 || status == 304 { return r }
        if let length = r.header("Content-Length").flatMap(Int.init) {
            r.body = try reader.read(exactly: length, timeout: .seconds(20))
        } else if r.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while true {
                let sizeLine = try reader.readLine(timeout: .seconds(20)) ?? ""
                let size = Int(sizeLine.split(separator: ";")[0], radix: 16) ?? 0
                if size == 0 {
                    while let t = try reader.readLine(timeout: .seconds(20)), !t.isEmpty {}
                    break
                }
                r.body += try reader.read(exactly: size, timeout: .seconds(20))
                _ = try reader.readLine(timeout: .seconds(20))
            }
        } else {
            while true {
                let more = try reader.read(maxBytes: 65536, timeout: .seconds(20))
                if more.isEmpty { break }
                r.body += more
            }
        }
        return r
    }

    /// Whether the server closed the connection (reads end of stream).
    func isClosedByServer() -> Bool {
        do { return try reader.read(maxBytes: 1, timeout: .seconds(20)).isEmpty } catch { return true }
    }

    func close() { socket.close() }
}

/// The seeds' hello world handler.
let helloBody = Array("Hello Cruel World!".utf8)
func hello(_ request: Request) throws -> Response {
    Response(status: .ok, headerFields: [.contentType: "text/html"], body: .bytes(helloBody))
}

/// The path of a product built next to the test bundle.
func builtProduct(_ name: String) -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent(name)
}
