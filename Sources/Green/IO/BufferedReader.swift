import Glibc

/// Buffered reading from a socket or any `ByteStream` (a TLS stream): lines,
/// exact counts, whatever is there. gevent's `socket.makefile('r')`:
///
/// ```swift
/// let reader = BufferedReader(socket)
/// for line in reader.lines { try socket.sendAll(line + "\n") }
/// ```
///
/// A line ends with `\n`; a line longer than its limit throws
/// `ReaderError.lineTooLong` and is skipped, so one bad line does not poison
/// the stream nor grow the buffer without bound. Bytes that are not UTF-8
/// become U+FFFD in `String` lines, never a crash.
///
/// One greenlet reads at a time. A final class: reads block inside its methods.
///
/// Thread-safety: hub-local. A reader may be made on one thread and handed to
/// a greenlet of another hub before its first read; from then on it belongs
/// to that hub, and a read from another hub or thread stops the program with
/// a message naming both hubs.
public final class BufferedReader {
    /// The stream read from.
    public let stream: any ByteStream
    /// The socket read from, when the stream is a plain `Socket` (nil for a TLS stream).
    public var socket: Socket? { stream as? Socket }
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var skippingLongLine = false
    private var sawEnd = false
    /// The error that ended the last `lines` or `byteLines` loop, nil when it ended at end of stream.
    public private(set) var error: (any Error)?
    private var owner = FirstUseHub()

    /// A reader over `stream` (a `Socket`, a TLS stream) with a buffer of
    /// `bufferSize` bytes (grown for long lines).
    /// - Note: never switches.
    public init(_ stream: any ByteStream, bufferSize: Int = 16384) {
        self.stream = stream
        capacity = max(64, bufferSize)
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// Bytes read from the stream and not yet returned.
    public var bufferedCount: Int { owner.checkIfBound("a BufferedReader"); return end - start }

    /// Reads more from the stream into the buffer.
    /// - Returns: false at end of stream.
    private func fill(deadline: ContinuousClock.Instant?) throws -> Bool {
        if sawEnd { return false }
        if start == end {
            start = 0
            end = 0
        } else if end == capacity && start > 0 {
            memmove(storage, storage + start, end - start)
            end -= start
            start = 0
        }
        if end == capacity { grow(to: capacity * 2) }
        var timeout: Duration? = nil
        if let deadline {
            timeout = deadline - ContinuousClock.now
            if timeout! <= .zero { throw SocketError.timedOut }
        }
        let n = try stream.recv(into: UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end), timeout: timeout)
        if n == 0 {
            sawEnd = true
            return false
        }
        end += n
        return true
    }

    private func grow(to newCapacity: Int) {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: storage + start, count: end - start)
        storage.deallocate()
        storage = bigger
        end -= start
        start = 0
        capacity = newCapacity
    }

    @inline(__always)
    private func newline(from: Int) -> Int? {
        guard from < end, let p = memchr(storage + from, 10, end - from) else { return nil }
        return p.assumingMemoryBound(to: UInt8.self) - storage
    }

    /// Reads one line, its `\n` included (the last line of the stream may lack one).
    /// - Parameters:
    ///   - maxLength: the longest line accepted, `\n` not counted.
    ///   - timeout: for the whole call; what was read stays buffered when it elapses.
    /// - Returns: the line's bytes, or nil at end of stream.
    /// - Throws: `ReaderError.lineTooLong` (the line is dropped and the next call
    ///   starts after it); the stream's errors (`connectionReset`, `timedOut`...); injected errors.
    /// - Note: may switch (when the buffer holds no whole line).
    public func readLineBytes(maxLength: Int = 65536, timeout: Duration? = nil) throws -> [UInt8]? {
        owner.check("a BufferedReader")
        let deadline = try Socket.deadline(timeout)
        while skippingLongLine {
            if let i = newline(from: start) {
                start = i + 1
                skippingLongLine = false
            } else {
                start = 0
                end = 0
                if try !fill(deadline: deadline) { return nil }
            }
        }
        var scanned = start
        while true {
            if let i = newline(from: scanned) {
                let length = i - start
                if length > maxLength {
                    start = i + 1
                    throw ReaderError.lineTooLong(limit: maxLength)
                }
                let line = Array(UnsafeBufferPointer(start: storage + start, count: length + 1))
                start = i + 1
                return line
            }
            if end - start > maxLength {
                start = 0
                end = 0
                skippingLongLine = true
                throw ReaderError.lineTooLong(limit: maxLength)
            }
            scanned = end
            let offset = scanned - start
            if try !fill(deadline: deadline) {
                if start == end { return nil }
                let rest = Array(UnsafeBufferPointer(start: storage + start, count: end - start))
                start = end
                return rest
            }
            scanned = start + offset
        }
    }

    /// Reads one line as text: without its `\n` and a `\r` before it, decoded
    /// as UTF-8 with invalid bytes replaced by U+FFFD.
    /// - Returns: the line, or nil at end of stream.
    /// - Throws: as `readLineBytes(maxLength:timeout:)`.
    /// - Note: may switch.
    public func readLine(maxLength: Int = 65536, timeout: Duration? = nil) throws -> String? {
        guard let bytes = try readLineBytes(maxLength: maxLength, timeout: timeout) else { return nil }
        return BufferedReader.text(of: bytes)
    }

    /// A line's text: without its `\n` and a `\r` before it, invalid UTF-8 as U+FFFD.
    public static func text(of line: [UInt8]) -> String {
        var n = line.count
        if n > 0 && line[n - 1] == 10 { n -= 1 }
        if n > 0 && line[n - 1] == 13 { n -= 1 }
        return line.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[..<n]), as: UTF8.self) }
    }

    /// Reads what is buffered, or else what one `recv` brings, at most `maxBytes`.
    /// - Returns: the bytes; empty at end of stream.
    /// - Throws: the stream's errors; injected errors.
    /// - Note: may switch (when nothing is buffered).
    public func read(maxBytes: Int = 65536, timeout: Duration? = nil) throws -> [UInt8] {
        owner.check("a BufferedReader")
        if start == end {
            if try !fill(deadline: try Socket.deadline(timeout)) { return [] }
        }
        let n = min(maxBytes, end - start)
        let out = Array(UnsafeBufferPointer(start: storage + start, count: n))
        start += n
        return out
    }

    /// Reads exactly `count` bytes, or fewer only when the stream ends first.
    /// - Throws: the stream's errors; `timedOut` for the whole call; injected errors.
    /// - Note: may switch.
    public func read(exactly count: Int, timeout: Duration? = nil) throws -> [UInt8] {
        owner.check("a BufferedReader")
        let deadline = try Socket.deadline(timeout)
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            if start == end, try !fill(deadline: deadline) { break }
            let n = min(count - out.count, end - start)
            out.append(contentsOf: UnsafeBufferPointer(start: storage + start, count: n))
            start += n
        }
        return out
    }

    /// The lines of the stream as text (see `readLine`), up to its end:
    /// `for line in reader.lines { ... }`, as the seeds' `for l in f`.
    ///
    /// A Swift sequence cannot throw: the loop ends at end of stream or at the
    /// first error, which `error` then holds. An error injected into the
    /// greenlet (a kill's `GreenletExit`, a `Timeout`) is not swallowed: it is
    /// re-armed, so the greenlet's next blocking call throws it.
    /// - Note: iterating may switch.
    public func lines(maxLength: Int = 65536, timeout: Duration? = nil) -> Lines {
        Lines(reader: self, maxLength: maxLength, timeout: timeout)
    }

    /// `lines(maxLength:timeout:)` with the defaults.
    public var lines: Lines { lines() }

    /// The lines of the stream as bytes, each with its `\n`; ends as `lines` does.
    /// - Note: iterating may switch.
    public func byteLines(maxLength: Int = 65536, timeout: Duration? = nil) -> ByteLines {
        ByteLines(reader: self, maxLength: maxLength, timeout: timeout)
    }

    /// `byteLines(maxLength:timeout:)` with the defaults.
    public var byteLines: ByteLines { byteLines() }

    fileprivate func nextForSequence(maxLength: Int, timeout: Duration?) -> [UInt8]? {
        do {
            error = nil
            return try readLineBytes(maxLength: maxLength, timeout: timeout)
        } catch {
            self.error = error
            if !(error is any ByteStreamError) {
                AnyGreenlet.current.reinject(error)
            }
            return nil
        }
    }

    /// Text lines of a `BufferedReader`; see `BufferedReader.lines`.
    public struct Lines: Sequence, IteratorProtocol {
        let reader: BufferedReader
        let maxLength: Int
        let timeout: Duration?

        /// The next line, or nil at end of stream or on an error (`reader.error`).
        /// - Note: may switch.
        public func next() -> String? {
            reader.nextForSequence(maxLength: maxLength, timeout: timeout).map(BufferedReader.text(of:))
        }
    }

    /// Byte lines of a `BufferedReader`; see `BufferedReader.byteLines`.
    public struct ByteLines: Sequence, IteratorProtocol {
        let reader: BufferedReader
        let maxLength: Int
        let timeout: Duration?

        /// The next line with its `\n`, or nil at end of stream or on an error (`reader.error`).
        /// - Note: may switch.
        public func next() -> [UInt8]? {
            reader.nextForSequence(maxLength: maxLength, timeout: timeout)
        }
    }
}
