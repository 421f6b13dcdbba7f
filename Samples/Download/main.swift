// The talk's parallel downloads:
//
//     def download(url):
//         return urllib2.urlopen(url).read()
//     urls = [...] * 100
//     pool = Pool(20)
//     print pool.map(download, urls)
//
// Only loopback here, so the sample starts a local server to download from.
// Run: swift run Download
import ArgumentParser
import Green
import GreenHTTP

@main
struct Download: ParsableCommand {
    @Option(help: "How many URLs.")
    var count = 100

    @Option(help: "Downloads at once (the Pool's size).")
    var poolSize = 20

    func run() throws {
        var quiet = HTTPServer.Configuration()
        quiet.accessLog = nil
        let server = HTTPServer(host: "127.0.0.1", port: 0, configuration: quiet) { request in
            .text("This is \(request.path).\n")
        }
        try server.start()

        var configuration = HTTPClient.Configuration()
        configuration.maxConnectionsPerHost = poolSize
        let client = HTTPClient(configuration: configuration)
        func download(_ url: String) throws -> String {
            try client.get(url).text
        }

        let urls = (1...count).map { "http://127.0.0.1:\(server.port)/page/\($0)" }
        let pool = Pool(poolSize)
        let pages = try pool.map(download, urls)
        print(pages.prefix(3).joined(), terminator: "")
        print("...")
        print("downloaded \(pages.count) pages, \(pages.map(\.utf8.count).reduce(0, +)) bytes, at most \(poolSize) at once")
        try server.stop()
    }
}
