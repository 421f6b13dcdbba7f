import Foundation
import Glibc
import Green

/// A sample server (Echo, ChatRoom) run as a child process, optionally under
/// `ulimit -n`: what a limit on descriptors does is the whole process's
/// business, so it never runs in the shared test process. Its port is read
/// from the banner it prints first ("... 127.0.0.1:PORT" or "... PORT").
final class ServerProcess {
    let process = Process()
    let port: Int
    private let errors = Pipe()

    /// Starts `product` with `arguments`; waits for its banner (blocks the calling thread).
    init(_ product: String, _ arguments: [String], openFileLimit: Int? = nil) throws {
        let path = builtProduct(product).path
        if let openFileLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(openFileLimit) && exec \"$0\" \"$@\"", path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errors
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = env
        try process.run()
        var banner = Data()
        while !banner.contains(10) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            banner.append(d)
        }
        let last = String(decoding: banner, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: " ").last ?? ""
        port = Int(last.split(separator: ":").last ?? "") ?? 0
    }

    /// The descriptor its standard error can be read from (for `readUntil`).
    var stderrFD: Int32 { errors.fileHandleForReading.fileDescriptor }

    /// Sends SIGTERM, waits for the exit, and returns it with the rest of standard error.
    /// Blocks the calling thread.
    func terminate() -> (status: Int32, reason: Process.TerminationReason, stderr: String) {
        kill(process.processIdentifier, SIGTERM)
        let rest = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason, String(decoding: rest, as: UTF8.self))
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
