import Glibc

/// The child's standard streams seen from here: writing its input, reading
/// its outputs a chunk, a line or everything at a time, and `communicate`,
/// which does all three at once without deadlock.
extension ChildProcess {
    /// Everything a child wrote, and how it ended (`run`, `communicate`).
    public struct Completion: Sendable {
        /// How it ended.
        public let status: Status
        /// All it wrote to standard output (empty unless that was a pipe).
        public let stdout: [UInt8]
        /// All it wrote to standard error (empty unless that was a pipe).
        public let stderr: [UInt8]

        /// `stdout` as UTF-8 text (invalid bytes replaced).
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        /// `stderr` as UTF-8 text (invalid bytes replaced).
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    func end(_ output: Output) -> PipeEnd? {
        switch output {
        case .stdout: return outputs.stdout
        case .stderr: return outputs.stderr
        }
    }

    func openEnd(_ output: Output) throws -> PipeEnd {
        guard let end = end(output) else { throw ChildProcessError.notAPipe("\(output)") }
        return end
    }

    /// The descriptor of our end of `output`'s pipe (to wait on it, e.g. with
    /// `Hub.wait(fd:for:)`); nil unless it is a pipe still open here. Bytes
    /// read from it directly bypass `readLine`'s buffer. Any thread.
    public func descriptor(of output: Output) -> Int32? {
        guard let end = end(output), end.isOpen else { return nil }
        return end.fd
    }

    /// The descriptor of our end of the standard-input pipe; nil unless it is
    /// a pipe still open here. Any thread.
    public var inputDescriptor: Int32? {
        guard let input, input.isOpen else { return nil }
        return input.fd
    }

    /// Writes all of `bytes` to the child's standard input.
    /// - Throws: `ChildProcessError.notAPipe`, `.writeFailed` (EPIPE: the child
    ///   closed its end; never a SIGPIPE here). Blocks the calling thread while
    ///   the pipe is full; never switches. One writer at a time.
    public func write(_ bytes: [UInt8]) throws {
        guard let input else { throw ChildProcessError.notAPipe("stdin") }
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let n = try input.writeSome(rest) else {
                var p = pollfd(fd: input.fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, -1)
                continue
            }
            rest = rest.dropFirst(n)
        }
    }

    /// Writes `text` as UTF-8 to the child's standard input; as `write(_: [UInt8])`.
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Closes our end of the standard-input pipe: the child reads end of file.
    /// Nothing when it is not a pipe or closed already. Never blocks.
    public func closeInput() { input?.close() }

    /// The next bytes the child wrote to `output`; empty at end of file (then
    /// our end is closed). Bytes kept by `readLine` come first.
    /// - Throws: `ChildProcessError.notAPipe`, `.readFailed`.
    /// Blocks the calling thread until something comes; never switches. One reader per output at a time.
    public func read(from output: Output = .stdout) throws -> [UInt8] {
        let end = try openEnd(output)
        if !end.buffer.isEmpty {
            defer { end.buffer = [] }
            return end.buffer
        }
        while true {
            if let bytes = try end.readSome() { return bytes }
            var p = pollfd(fd: end.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, -1)
        }
    }

    /// The next line the child wrote to `output`, without its "\n" (invalid
    /// UTF-8 replaced); at end of file the unfinished last line, then nil.
    /// Bytes read past the line are kept for the next read.
    /// - Throws: `ChildProcessError.notAPipe`, `.readFailed`.
    /// Blocks the calling thread until a line comes; never switches. One reader per output at a time.
    public func readLine(from output: Output = .stdout) throws -> String? {
        let end = try openEnd(output)
        var line = end.buffer
        end.buffer = []
        var searched = 0
        while true {
            if let i = line[searched...].firstIndex(of: 10) {
                end.buffer = Array(line[(i + 1)...])
                return String(decoding: line[..<i], as: UTF8.self)
            }
            searched = line.count
            let more = try read(from: output)
            if more.isEmpty { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            line += more
        }
    }

    /// Everything the child writes to `output` from now until end of file
    /// (usually: until it exits). Our end is then closed.
    /// - Throws: `ChildProcessError.notAPipe`, `.readFailed`.
    /// Blocks the calling thread; never switches. One reader per output at a
    /// time; with both outputs piped, read the other one too (`communicate`),
    /// or a child that fills it stalls.
    public func readToEnd(from output: Output = .stdout) throws -> [UInt8] {
        var all: [UInt8] = []
        while true {
            let more = try read(from: output)
            if more.isEmpty { return all }
            all += more
        }
    }

    /// Writes `input` to the child's standard input and closes it, reads both
    /// outputs to their end, all at once (`poll`), so no pipe can fill up and
    /// stall the child; then waits for it to end.
    /// - Parameters:
    ///   - input: bytes for standard input (must be a pipe unless empty); a child
    ///     that stops reading early just does not get the rest.
    ///   - timeout: a guard for the whole call: past it the child is killed
    ///     (SIGKILL), reaped, and `ChildProcessError.timedOut` thrown. Nil: no limit.
    /// - Returns: how it ended and what it wrote (`[]` for outputs that are not pipes),
    ///   including what earlier reads left in `readLine`'s buffer.
    /// - Throws: `ChildProcessError.notAPipe`, `.timedOut`, `.readFailed`, `.waitFailed`.
    /// Blocks the calling thread; never switches. Uses every pipe: no other reader meanwhile.
    public func communicate(input bytes: [UInt8] = [], timeout: Duration? = nil) throws -> Completion {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let limit = timeout ?? .zero
        var pending = bytes[...]
        if !bytes.isEmpty, input?.isOpen != true { throw ChildProcessError.notAPipe("stdin") }
        if pending.isEmpty { input?.close() } else { input?.setNonBlocking() }
        let ends = [outputs.stdout, outputs.stderr]
        var collected: [[UInt8]] = [[], []]
        for (i, end) in ends.enumerated() {
            guard let end else { continue }
            collected[i] = end.buffer
            end.buffer = []
            end.setNonBlocking()
        }
        while true {
            var fds: [pollfd] = []
            var who: [Int] = []  // -1: stdin; 0, 1: stdout, stderr
            if let input, input.isOpen {
                fds.append(pollfd(fd: input.fd, events: Int16(POLLOUT), revents: 0))
                who.append(-1)
            }
            for (i, end) in ends.enumerated() where end?.isOpen == true {
                fds.append(pollfd(fd: end!.fd, events: Int16(POLLIN), revents: 0))
                who.append(i)
            }
            if fds.isEmpty { break }
            var wait: Int32 = -1
            if let deadline {
                let left = deadline - ContinuousClock.now
                if left <= .zero { try giveUp(limit) }
                let ms = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1
                wait = Int32(min(ms, 60_000))
            }
            let n = poll(&fds, nfds_t(fds.count), wait)
            if n < 0 {
                if errno == EINTR { continue }
                throw ChildProcessError.readFailed(errno: errno)
            }
            for (k, p) in fds.enumerated() where p.revents != 0 {
                if who[k] < 0, let input {
                    do {
                        if let written = try input.writeSome(pending) { pending = pending.dropFirst(written) }
                    } catch ChildProcessError.writeFailed {
                        pending = []  // the child closed its end: it does not want the rest
                    }
                    if pending.isEmpty { input.close() }
                } else if let end = ends[who[k]], let more = try end.readSome() {
                    collected[who[k]] += more
                }
            }
        }
        let status = try waitUntilExit(deadline: deadline, limit: limit)
        return Completion(status: status, stdout: collected[0], stderr: collected[1])
    }
}
