import Foundation
import GreenTLS
import GreenTestSupport

/// Certificates made once per test process with the `openssl` command, in a
/// temporary folder: a CA, certificates it signs (good, expired, for the
/// wrong host, a client's), and a second CA nobody trusts with its own
/// server and client certificates. EC P-256 keys: quick to make and use.
struct TestCertificates: Sendable {
    let dir: String
    var ca: String { "\(dir)/ca.pem" }
    var serverKey: String { "\(dir)/server.key" }
    /// For localhost, 127.0.0.1 and ::1, signed by the CA.
    var server: String { "\(dir)/server.pem" }
    /// The same name and key, but no longer valid.
    var expired: String { "\(dir)/expired.pem" }
    /// The same key, but for wrong.example only.
    var wrongHost: String { "\(dir)/wronghost.pem" }
    /// A client's ("/CN=green client"), signed by the CA.
    var client: String { "\(dir)/client.pem" }
    var clientKey: String { "\(dir)/client.key" }
    /// A CA nobody trusts here.
    var otherCA: String { "\(dir)/otherca.pem" }
    /// For localhost, signed by the other CA.
    var otherServer: String { "\(dir)/otherserver.pem" }
    /// A client's, signed by the other CA.
    var otherClient: String { "\(dir)/otherclient.pem" }

    /// The shared set (made on first use; thread-safe).
    static func shared() throws -> TestCertificates { try made.get() }
    private static let made = Result { try TestCertificates() }

    private init() throws {
        dir = NSTemporaryDirectory() + "green-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let server = "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
        try makeCA("ca", "Green Test CA")
        try makeCA("otherca", "Untrusted Test CA")
        try makeKey("server")
        try makeKey("client")
        try sign("server", key: "server", cn: "localhost", ca: "ca", ext: server)
        try sign("expired", key: "server", cn: "localhost", ca: "ca", ext: server, days: -1)
        try sign("wronghost", key: "server", cn: "wrong.example", ca: "ca", ext: "subjectAltName=DNS:wrong.example\n")
        try sign("client", key: "client", cn: "green client", ca: "ca", ext: "extendedKeyUsage=clientAuth\n")
        try sign("otherserver", key: "server", cn: "localhost", ca: "otherca", ext: server)
        try sign("otherclient", key: "client", cn: "green client", ca: "otherca", ext: "extendedKeyUsage=clientAuth\n")
    }

    private func makeCA(_ name: String, _ cn: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).pem", "-days", "3650", "-subj", "/CN=\(cn)"])
    }

    private func makeKey(_ name: String) throws {
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(dir)/\(name).key"])
    }

    private func sign(_ name: String, key: String, cn: String, ca: String, ext: String, days: Int = 365) throws {
        let csr = "\(dir)/\(name).csr", extFile = "\(dir)/\(name).ext"
        try ext.write(toFile: extFile, atomically: true, encoding: .utf8)
        try openssl(["req", "-new", "-key", "\(dir)/\(key).key", "-out", csr, "-subj", "/CN=\(cn)"])
        // -days -1 makes a certificate whose validity ended before it began: expired.
        try openssl(["x509", "-req", "-in", csr, "-CA", "\(dir)/\(ca).pem", "-CAkey", "\(dir)/\(ca).key",
                     "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-out", "\(dir)/\(name).pem",
                     "-days", "\(days)", "-extfile", extFile])
    }

    private func openssl(_ args: [String]) throws {
        let r = try runTool("openssl", args)
        if r.status != 0 { throw ToolFailure(command: "openssl \(args.joined(separator: " "))", output: r.stderr) }
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    let command: String
    let output: String
    var description: String { "\(command) failed: \(output)" }
}

/// Runs a command found on PATH to its end (blocking this OS thread): its
/// status and what it wrote. Inside green code, call it through `ThreadPool`.
func runTool(_ name: String, _ args: [String], stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    // Both outputs drained at once, so neither pipe can fill up and stall the tool.
    let r = try ChildProcess.run("/usr/bin/env", [name] + args, input: Array((stdin ?? "").utf8), timeout: .seconds(600))
    return (r.status.code, r.stdoutText, r.stderrText)
}
