/// Waiting for readiness without reading or writing: for protocols layered on
/// a socket that do their own I/O on its descriptor (TLS: OpenSSL says "want
/// read" or "want write", the stream waits here and calls OpenSSL again).
extension Socket {
    /// Parks the running greenlet until the socket can be read without
    /// blocking (data, end of stream, or an error is there).
    /// - Throws: `SocketError.timedOut` when `timeout` elapses first;
    ///   `closed` (also when `close()` is called meanwhile); `concurrentUse`
    ///   when another greenlet waits to read; injected errors.
    /// - Note: switches. Same hub only.
    public func waitUntilReadable(timeout: Duration? = nil) throws {
        try waitReady(.read, deadline: try Socket.deadline(timeout))
    }

    /// Parks the running greenlet until the socket can be written without blocking.
    /// - Throws: as `waitUntilReadable(timeout:)`, for the writing direction.
    /// - Note: switches. Same hub only.
    public func waitUntilWritable(timeout: Duration? = nil) throws {
        try waitReady(.write, deadline: try Socket.deadline(timeout))
    }
}
