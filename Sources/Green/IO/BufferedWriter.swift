/// Buffered writing to a socket or any `ByteStream` (a TLS stream): many
/// small writes, one `send` (gevent's `makefile('w')`). Nothing is sent
/// until `flush` or until the buffer holds `capacity` bytes.
///
/// One greenlet writes at a time. A final class: writes block inside its methods.
///
/// Thread-safety: hub-local. A writer may be made on one thread and handed to
/// a greenlet of another hub before its first write; from then on it belongs
/// to that hub, and a write from another hub or thread stops the program with
/// a message naming both hubs.
public final class BufferedWriter {
    /// The stream written to.
    public let stream: any ByteStream
    /// The socket written to, when the stream is a plain `Socket` (nil for a TLS stream).
    public var socket: Socket? { stream as? Socket }
    /// The byte count at which `write` flushes by itself.
    public let capacity: Int
    private var buffer: [UInt8] = []
    private var owner = FirstUseHub()

    /// A writer over `stream` (a `Socket`, a TLS stream) that flushes by
    /// itself past `capacity` bytes.
    /// - Note: never switches.
    public init(_ stream: any ByteStream, capacity: Int = 16384) {
        self.stream = stream
        self.capacity = max(1, capacity)
        buffer.reserveCapacity(self.capacity)
    }

    /// Bytes written and not yet sent.
    public var bufferedCount: Int { owner.checkIfBound("a BufferedWriter"); return buffer.count }

    /// Adds `bytes`; flushes when the buffer reaches `capacity`.
    /// - Throws: as `flush(timeout:)`, when it flushes.
    /// - Note: may switch (when it flushes).
    public func write(_ bytes: [UInt8], timeout: Duration? = nil) throws {
        owner.check("a BufferedWriter")
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { try flush(timeout: timeout) }
    }

    /// Adds `text`, UTF-8 encoded; flushes when the buffer reaches `capacity`.
    /// - Throws: as `flush(timeout:)`, when it flushes.
    /// - Note: may switch (when it flushes).
    public func write(_ text: String, timeout: Duration? = nil) throws {
        owner.check("a BufferedWriter")
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity { try flush(timeout: timeout) }
    }

    /// Adds `text` and a `\n`; flushes when the buffer reaches `capacity`.
    /// - Throws: as `flush(timeout:)`, when it flushes.
    /// - Note: may switch (when it flushes).
    public func writeLine(_ text: String, timeout: Duration? = nil) throws {
        owner.check("a BufferedWriter")
        buffer.append(contentsOf: text.utf8)
        buffer.append(10)
        if buffer.count >= capacity { try flush(timeout: timeout) }
    }

    /// Sends everything buffered. On an error what was not sent stays buffered.
    /// - Throws: the stream's errors (`brokenPipe`, `connectionReset`,
    ///   `timedOut` for the whole flush...); injected errors.
    /// - Note: may switch.
    public func flush(timeout: Duration? = nil) throws {
        owner.check("a BufferedWriter")
        guard !buffer.isEmpty else { return }
        let deadline = try Socket.deadline(timeout)
        var sent = 0
        defer {
            if sent == buffer.count { buffer.removeAll(keepingCapacity: true) } else { buffer.removeFirst(sent) }
        }
        let pending = buffer
        try pending.withUnsafeBytes { raw in
            while sent < raw.count {
                var left: Duration? = nil
                if let deadline {
                    left = deadline - ContinuousClock.now
                    if left! <= .zero { throw SocketError.timedOut }
                }
                sent += try stream.send(UnsafeRawBufferPointer(rebasing: raw[sent...]), timeout: left)
            }
        }
    }
}
