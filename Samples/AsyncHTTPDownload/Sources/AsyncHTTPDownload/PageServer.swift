import Green

/// A tiny HTTP/1.1 server on Green (a greenlet per connection, keep-alive):
/// `GET /page/N` answers "page N". Each answer takes a few milliseconds, like
/// a page on a real server, so that requests overlap.
final class PageServer {
    private var server: StreamServer!
    private var inFlight = 0
    /// The most requests it was answering at once.
    private(set) var mostInFlight = 0

    init() throws {
        server = StreamServer(host: "127.0.0.1", port: 0) { [unowned self] socket, _ in
            let reader = BufferedReader(socket)
            while let requestLine = try reader.readLine() {
                while let header = try reader.readLine(), !header.isEmpty {}  // GET: no body
                inFlight += 1
                mostInFlight = max(mostInFlight, inFlight)
                defer { inFlight -= 1 }
                try sleep(.milliseconds(5))
                let path = requestLine.split(separator: " ").dropFirst().first ?? "/"
                let body = "page \(path.split(separator: "/").last ?? "")\n"
                try socket.sendAll("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            }
        }
        try server.start()
    }

    var port: Int { server.port }

    func stop() throws { try server.stop() }
}
