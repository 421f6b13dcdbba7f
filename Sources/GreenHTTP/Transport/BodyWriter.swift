import Green

/// Writes a streamed body (a `Response.Body.stream` to a client, a client's
/// `ClientRequestBody.stream` to a server):
/// as chunks in HTTP/1.1, as raw bytes when the length was given or the
/// connection closes at the end. Bytes are buffered and sent when the buffer
/// fills or on `flush()`, so many small writes cost one send.
///
/// Used on the connection's greenlet only, while the stream closure runs.
public final class BodyWriter {
    enum Framing { case chunked, length(Int), untilClose, none }

    private let output: OutputBuffer
    private let stream: any ByteStream
    private let framing: Framing
    private let timeout: Duration?
    /// Body bytes written so far.
    public private(set) var bytesWritten = 0

    init(output: OutputBuffer, stream: any ByteStream, framing: Framing, timeout: Duration?) {
        self.output = output
        self.stream = stream
        self.framing = framing
        self.timeout = timeout
    }

    /// Writes `bytes` (an empty array writes nothing).
    /// - Throws: `HTTPStreamError.lengthExceeded` past a declared `Content-Length`;
    ///   the stream's errors (the client went away: `SocketError`); injected errors.
    /// - Note: may switch (when the buffer is sent).
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Writes `text`, UTF-8 encoded.
    /// - Throws: as `write(_:)` for bytes.
    /// - Note: may switch.
    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes the bytes of `buffer`.
    /// - Throws: as `write(_:)` for bytes.
    /// - Note: may switch.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        switch framing {
        case .none:
            return
        case .length(let n):
            if bytesWritten + buffer.count > n { throw HTTPStreamError.lengthExceeded(declared: n) }
            output.append(buffer)
        case .untilClose:
            output.append(buffer)
        case .chunked:
            output.appendHex(buffer.count)
            output.append("\r\n")
            output.append(buffer)
            output.append("\r\n")
        }
        bytesWritten += buffer.count
        if output.count >= 16384 { try flush() }
    }

    /// Sends what is buffered now.
    /// - Throws: the stream's errors; injected errors.
    /// - Note: switches while the client does not read.
    public func flush() throws {
        try output.flush(to: stream, timeout: timeout)
    }

    /// Ends the body: the last chunk, or a check that the declared length was met.
    func finish() throws {
        switch framing {
        case .chunked: output.append("0\r\n\r\n")
        case .length(let n): if bytesWritten != n { throw HTTPStreamError.lengthShort(declared: n, written: bytesWritten) }
        case .untilClose, .none: break
        }
    }
}

/// A streamed body that broke its framing.
public enum HTTPStreamError: Error, Equatable {
    /// More bytes written than the response's `Content-Length`.
    case lengthExceeded(declared: Int)
    /// Fewer bytes written than the response's `Content-Length`.
    case lengthShort(declared: Int, written: Int)
}
