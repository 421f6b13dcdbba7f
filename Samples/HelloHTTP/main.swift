// The seeds' WSGI hello world:
//
//     def application(environ, start_response):
//         start_response('200 OK', [('Content-Type', 'text/html')])
//         return ['Hello Cruel World!']
//     WSGIServer(('', 8000), application).serve_forever()
//
// Run: swift run HelloHTTP --port 8000; then: ab -n 10000 -c 100 http://127.0.0.1:8000/
// Over TLS: swift run HelloHTTP --tls-cert cert.pem --tls-key key.pem; then:
//           curl --cacert ca.pem https://localhost:8000/
// SIGTERM (or Ctrl-C) stops it gracefully.
import ArgumentParser
import Glibc
import Green
import GreenHTTP
import GreenTLS

@main
struct HelloHTTP: ParsableCommand {
    @Option(help: "The address to listen on (\"\" for every IPv4 interface, \"::\" for every interface).")
    var host: String = ""

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8000

    @Flag(inversion: .prefixedNo, help: "Log every request (swift-log, to stderr).")
    var accessLog = true

    @Option(help: "Serve HTTPS with this certificate chain (PEM); needs --tls-key.")
    var tlsCert: String?

    @Option(help: "The private key (PEM) of --tls-cert.")
    var tlsKey: String?

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() throws {
        var configuration = HTTPServer.Configuration()
        if !accessLog { configuration.accessLog = nil }
        let tls = try tlsCert.map { try TLSConfiguration.httpServer(certificateChain: .file($0), privateKey: .file(tlsKey!)) }
        let body = Array("Hello Cruel World!".utf8)
        let server = HTTPServer(host: host, port: port, configuration: configuration, tls: tls) { _ in
            Response(status: .ok, headerFields: [.contentType: "text/html"], body: .bytes(body))
        }
        try server.start()
        print("Serving on \(tls == nil ? "http" : "https")://\(host.isEmpty ? "127.0.0.1" : host):\(server.port)/")
        fflush(stdout)
        let term = onSignal(SIGTERM) { try server.stop() }
        let int = onSignal(SIGINT) { try server.stop() }
        try server.serveForever()
        term.cancel()
        int.cancel()
    }
}
