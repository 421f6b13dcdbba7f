// The talk's "100 web requests in parallel", in Swift, with a real async library:
//
//     def download(url):
//         return urllib2.urlopen(url).read()
//
//     urls = ['http://...'] * 100
//     pool = Pool(20)
//     print pool.map(download, urls)
//
// `download` is plain synchronous green code; `awaitAsync` runs AsyncHTTPClient's async
// call while only the calling greenlet waits, so Pool(20) keeps 20 requests in flight.
// The pages come from a small HTTP server this program starts on 127.0.0.1 (no network).
import AsyncHTTPClient
import Green
import NIOCore

let server = try PageServer()
let client = HTTPClient(
    eventLoopGroupProvider: .singleton,
    configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 20))
)

func download(_ url: String) throws -> String {
    try awaitAsync(timeout: .seconds(30)) {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        guard response.status == .ok else { throw DownloadError.status(url, Int(response.status.code)) }
        return String(buffer: try await response.body.collect(upTo: 1 << 20))
    }
}

let urls = (1...100).map { "http://127.0.0.1:\(server.port)/page/\($0)" }
let pages = try Pool(20).map(download, urls)

try awaitAsync { try await client.shutdown() }
try server.stop()

print(pages.first ?? "")
print("downloaded \(pages.count) pages, \(pages.filter { $0.hasPrefix("page ") }.count) ok, "
      + "\(pages.reduce(0) { $0 + $1.utf8.count }) bytes, "
      + "at most \(server.mostInFlight) requests at the server at once")

enum DownloadError: Error { case status(String, Int) }
