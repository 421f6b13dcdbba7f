import Foundation
import Glibc
import Green
import GreenTestSupport

/// A sample server (Echo, ChatRoom) run as a child process, optionally under
/// `ulimit -n`: what a limit on descriptors does is the whole process's
/// business, so it never runs in the shared test process. Its port is read
/// from the banner it prints first ("... 127.0.0.1:PORT" or "... PORT").
final class ServerProcess {
    let process: ChildProcess
    let port: Int

    /// Starts `product` with `arguments`; waits for its banner (blocks the calling thread).
    init(_ product: String, _ arguments: [String], openFileLimit: Int? = nil) throws {
        let path = builtProduct(product).path
        let environment = ["SWIFT_BACKTRACE": "enable=no"]
        if let openFileLimit {
            process = try ChildProcess("/bin/sh", ["-c", "ulimit -n \(openFileLimit) && exec \"$0\" \"$@\"", path] + arguments,
                                       environment: environment, stdout: .pipe, stderr: .pipe)
        } else {
            process = try ChildProcess(path, arguments, environment: environment, stdout: .pipe, stderr: .pipe)
        }
        let banner = try process.readLine() ?? ""
        let last = banner
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: " ").last ?? ""
        port = Int(last.split(separator: ":").last ?? "") ?? 0
    }

    /// The descriptor its standard error can be read from (for `readUntil`).
    var stderrFD: Int32 { process.descriptor(of: .stderr) ?? -1 }

    /// Sends SIGTERM, waits for the exit, and returns it with the rest of standard error
    /// (a failure to read or wait is returned as status -1 with the error in `stderr`).
    /// Blocks the calling thread.
    func terminate() -> (status: Int32, reason: ChildProcess.TerminationReason, stderr: String) {
        do {
            try process.terminate()
            let rest = try process.readToEnd(from: .stderr)
            let status = try process.waitUntilExit()
            return (status.code, status.reason, String(decoding: rest, as: UTF8.self))
        } catch {
            return (-1, .exit, "ServerProcess.terminate: \(error)")
        }
    }
}

/// In green code: reads `fd` (a pipe) cooperatively until what was read
/// contains `text`; returns everything read. Throws `SocketError.timedOut`
/// after `timeout`, or `SocketError.closed` at end of file.
func readUntil(_ fd: Int32, contains text: String, timeout: Duration = .seconds(30)) throws -> String {
    let deadline = ContinuousClock.now + timeout
    var got: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while !got.text.contains(text) {
        let left = deadline - ContinuousClock.now
        guard left > .zero, try Hub.current.wait(fd: fd, for: .read, timeout: left) else { throw SocketError.timedOut }
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { throw SocketError.closed }
        got.append(contentsOf: chunk[..<n])
    }
    return got.text
}
