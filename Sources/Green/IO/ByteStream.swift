/// A connected, ordered stream of bytes that parks the greenlet, never the
/// hub: what `BufferedReader` and `BufferedWriter` read from and write to.
///
/// `Socket` is one; a TLS stream (`GreenTLS.TLSStream`) is another, so code
/// written against `any ByteStream` (a line protocol, an HTTP server) runs
/// unchanged over plain TCP and over TLS.
///
/// A stream belongs to the hub of the thread that uses it. One greenlet may
/// read while another writes; two reading (or two writing) at once is the
/// stream's `concurrentUse` error.
public protocol ByteStream: AnyObject {
    /// Receives up to `buffer.count` bytes into `buffer`.
    /// - Returns: the byte count, at least 1; 0 only at the end of the stream
    ///   (for TLS: after the peer's `close_notify`).
    /// - Throws: the stream's typed errors (`SocketError`, `TLSError`...);
    ///   `SocketError.timedOut` when `timeout` elapses first; injected errors.
    /// - Note: may switch (while nothing is there to read). Same hub only.
    func recv(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws -> Int

    /// Sends part of `buffer`: what can go now, waiting only while nothing can.
    /// - Returns: the byte count sent (at least 1 for a non-empty buffer).
    /// - Throws: as `recv(into:timeout:)`.
    /// - Note: may switch (while the stream cannot take more). Same hub only.
    func send(_ buffer: UnsafeRawBufferPointer, timeout: Duration?) throws -> Int

    /// Sends all of `buffer`, waiting as often as needed.
    /// - Throws: as `send(_:timeout:)`; `SocketError.timedOut` when the whole
    ///   send outlasts `timeout` (part of the data may have gone).
    /// - Note: may switch. Same hub only.
    func sendAll(_ buffer: UnsafeRawBufferPointer, timeout: Duration?) throws

    /// Closes the stream and its descriptor. A greenlet waiting on it is woken
    /// with the stream's "closed" error. Closing twice does nothing.
    /// - Note: never switches. Same hub only.
    func close()
}

/// An error that belongs to a stream (a socket's, a TLS session's, a reader's),
/// as opposed to one injected into the greenlet (`GreenletExit`, `Timeout`).
/// `BufferedReader.lines` ends its loop on the first and re-arms the second.
public protocol ByteStreamError: Error {}

extension SocketError: ByteStreamError {}
extension ReaderError: ByteStreamError {}

extension ByteStream {
    /// Receives up to `maxBytes` bytes.
    /// - Returns: the bytes; empty at end of stream.
    /// - Throws: as `recv(into:timeout:)`.
    /// - Note: may switch. Same hub only.
    public func recv(maxBytes: Int = 65536, timeout: Duration? = nil) throws -> [UInt8] {
        var count = 0
        var failure: (any Error)?
        let bytes = [UInt8](unsafeUninitializedCapacity: maxBytes) { buf, initialized in
            do {
                count = try recv(into: UnsafeMutableRawBufferPointer(buf), timeout: timeout)
            } catch {
                failure = error
            }
            initialized = count
        }
        if let failure { throw failure }
        return bytes
    }

    /// Sends all of `bytes`.
    /// - Throws: as `sendAll(_:timeout:)` over a buffer.
    /// - Note: may switch. Same hub only.
    public func sendAll(_ bytes: [UInt8], timeout: Duration? = nil) throws {
        try bytes.withUnsafeBytes { try sendAll($0, timeout: timeout) }
    }

    /// Sends all of `text`, UTF-8 encoded.
    /// - Throws: as `sendAll(_:timeout:)` over a buffer.
    /// - Note: may switch. Same hub only.
    public func sendAll(_ text: String, timeout: Duration? = nil) throws {
        var text = text
        try text.withUTF8 { try sendAll(UnsafeRawBufferPointer($0), timeout: timeout) }
    }
}

extension Socket: ByteStream {}
