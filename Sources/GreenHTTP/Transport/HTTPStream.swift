import Green

/// The connection an HTTP server or client speaks over: an ordered stream of
/// bytes that parks the greenlet, never the hub. `Socket` is one; a TLS
/// stream can be another, so the server and the client run unchanged over it.
///
/// The requirements are exactly those of Green's `ByteStream` (issue 16), so
/// once that protocol is in Green this one becomes `typealias HTTPStream = ByteStream`.
///
/// A stream belongs to the hub of the thread that uses it; one greenlet reads
/// while another may write.
public protocol HTTPStream: AnyObject {
    /// Receives up to `buffer.count` bytes into `buffer`.
    /// - Returns: the byte count; 0 only at the end of the stream.
    /// - Throws: the stream's typed errors (`SocketError`...); `SocketError.timedOut`
    ///   when `timeout` elapses first; injected errors.
    /// - Note: may switch. Same hub only.
    func recv(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws -> Int

    /// Sends part of `buffer`: what can go now, waiting only while nothing can.
    /// - Returns: the byte count sent (at least 1 for a non-empty buffer).
    /// - Throws: as `recv(into:timeout:)`.
    /// - Note: may switch. Same hub only.
    func send(_ buffer: UnsafeRawBufferPointer, timeout: Duration?) throws -> Int

    /// Sends all of `buffer`.
    /// - Throws: as `send(_:timeout:)`; `SocketError.timedOut` when the whole send outlasts `timeout`.
    /// - Note: may switch. Same hub only.
    func sendAll(_ buffer: UnsafeRawBufferPointer, timeout: Duration?) throws

    /// Closes the stream; a greenlet waiting on it is woken with its "closed" error.
    /// - Note: never switches. Same hub only.
    func close()
}

extension Socket: HTTPStream {}
