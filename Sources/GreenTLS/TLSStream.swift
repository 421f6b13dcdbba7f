import CGreenOpenSSL
import Glibc
import Green

/// A TLS session over a green `Socket`: gevent's `SSLSocket`, Swift-shaped.
///
/// ```swift
/// let tls = try TLSStream.connect(host: "example.org", port: 443, configuration: .client(), timeout: .seconds(10))
/// try tls.sendAll("GET / HTTP/1.0\r\nHost: example.org\r\n\r\n")
/// let reader = BufferedReader(tls)
/// while let line = try reader.readLine() { print(line) }
/// ```
///
/// OpenSSL does the I/O on the socket's descriptor (non-blocking, through a
/// BIO of ours that never raises SIGPIPE); when it says "want read" or "want
/// write", the greenlet parks on the socket's watcher and calls OpenSSL
/// again, so other greenlets run meanwhile and the hub never blocks. The
/// records one call writes leave in one `send`, at the end of a `send`/
/// `sendAll`/`shutdown`, before the stream parks to read, and on `close`.
///
/// - The handshake happens in `handshake(timeout:)`, or else at the first
///   `recv` or `send`. Failures are `TLSError`s saying what failed.
/// - `recv` returns 0 only after the peer's `close_notify`; a peer that just
///   closes the connection is reported as `TLSError.truncated`.
/// - Errors of the connection itself (reset, a handshake failure) are final:
///   every later call throws the same error. A `recv`/`send` timeout is not.
/// - `shutdown(timeout:)` sends `close_notify`; `close()` sends it too if that
///   can be done without waiting, then closes the socket.
///
/// A stream belongs to the hub of its socket. One greenlet may read while
/// another writes; two in the same direction is `SocketError.concurrentUse`.
/// (TLS 1.3 key updates, where a read must write, could meet a waiting writer
/// and give `concurrentUse` too; Green never asks for key updates itself.)
public final class TLSStream: ByteStream, CustomStringConvertible {
    /// The TCP connection under the session. Reading or writing it directly
    /// corrupts the session; use it for options and addresses.
    public let socket: Socket
    /// The configuration the session was made with.
    public let configuration: TLSConfiguration
    /// The name a client verifies the server's certificate against and sends
    /// as SNI (not sent for an IP address); nil on a server.
    public let serverName: String?
    // The three flags below are read on every call. Their accesses are
    // never checked for exclusivity at run time (the checks cost about 600
    // instructions per echo round trip): each access is a plain read or
    // write, none is held across a call or a switch, and a stream is used
    // on its hub's thread only.

    /// Whether the handshake has completed.
    @exclusivity(unchecked) public private(set) var isHandshakeComplete = false

    private let ssl: OpaquePointer
    private let bio: UnsafeMutablePointer<green_bio_state>
    /// The error that ended the session; every later call throws it.
    @exclusivity(unchecked) private var failure: (any Error)?
    @exclusivity(unchecked) private var sentCloseNotify = false
    /// Bytes at the head of the BIO's output that are a TLS 1.3 server's
    /// session tickets, held for its first answer (see `handshake`); 0 once sent.
    @exclusivity(unchecked) private var heldTickets = 0

    /// A client session over a connected `socket`; no I/O until the handshake.
    /// - Parameters:
    ///   - serverName: the server's host name or IP address: sent as SNI (a
    ///     name only) and verified against its certificate. Required when the
    ///     configuration verifies the server.
    /// - Throws: `TLSError.invalidConfiguration` (a server configuration, a
    ///   missing name); `SocketError.closed`.
    /// - Note: never switches. Same hub as the socket.
    public convenience init(client socket: Socket, serverName: String?, configuration: TLSConfiguration) throws {
        guard configuration.role == .client else {
            throw TLSError.invalidConfiguration("a client session needs a client configuration")
        }
        if configuration.verifiesPeer && (serverName ?? "").isEmpty {
            throw TLSError.invalidConfiguration(
                "verifying a server needs its name: pass serverName (or use insecureClientWithoutVerification for tests)")
        }
        try self.init(socket: socket, configuration: configuration, serverName: serverName)
        SSL_set_connect_state(ssl)
        if let serverName, !serverName.isEmpty { try setServerName(serverName) }
    }

    /// A server session over an accepted `socket`; no I/O until the handshake.
    /// - Throws: `TLSError.invalidConfiguration` (a client configuration); `SocketError.closed`.
    /// - Note: never switches. Same hub as the socket.
    public convenience init(server socket: Socket, configuration: TLSConfiguration) throws {
        guard configuration.role == .server else {
            throw TLSError.invalidConfiguration("a server session needs a server configuration")
        }
        try self.init(socket: socket, configuration: configuration, serverName: nil)
        SSL_set_accept_state(ssl)
    }

    private init(socket: Socket, configuration: TLSConfiguration, serverName: String?) throws {
        if socket.isClosed { throw SocketError.closed }
        guard let ssl = SSL_new(configuration.context) else {
            throw TLSError.invalidConfiguration("OpenSSL could not make a session: \(OpenSSLErrors.take()?.text ?? "?")")
        }
        guard let b = BIO_new(greenBIOMethod) else {
            SSL_free(ssl)
            throw TLSError.invalidConfiguration("OpenSSL could not make a BIO: \(OpenSSLErrors.take()?.text ?? "?")")
        }
        self.socket = socket
        self.configuration = configuration
        self.serverName = serverName
        self.ssl = ssl
        bio = .allocate(capacity: 1)
        bio.initialize(to: green_bio_state(fd: socket.fd, last_errno: 0, saw_eof: 0, drained: 0, out: nil, out_start: 0, out_end: 0))
        BIO_set_data(b, bio)
        SSL_set_bio(ssl, b, b)  // the session owns the BIO now
    }

    deinit {
        SSL_free(ssl)
        green_bio_free_out(bio)
        bio.deallocate()
    }

    /// A TLS connection to `host` (a name or a numeric address) on `port`:
    /// connects (see `Socket.connect(host:port:timeout:)`), then handshakes,
    /// verifying the server's certificate for `host` unless the configuration
    /// is the insecure one.
    /// - Parameters:
    ///   - timeout: for the whole call, connection and handshake.
    /// - Throws: `SocketError` while connecting; `TLSError` from the handshake
    ///   (`handshakeTimedOut` when the time runs out there); injected errors.
    /// - Note: switches. Same hub only.
    public static func connect(
        host: String, port: Int, configuration: TLSConfiguration, timeout: Duration? = nil
    ) throws -> TLSStream {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let socket = try Socket.connect(host: host, port: port, timeout: timeout)
        do {
            let tls = try TLSStream(client: socket, serverName: host, configuration: configuration)
            try tls.handshake(timeout: deadline.map { $0 - ContinuousClock.now })
            return tls
        } catch {
            socket.close()
            throw error
        }
    }

    public var description: String {
        "TLSStream(\(configuration.role), fd: \(socket.fd)\(serverName.map { ", \($0)" } ?? ""), \(isHandshakeComplete ? protocolVersion : "handshaking"))"
    }

    // MARK: - Handshake

    /// Makes the handshake (does nothing when it is done).
    /// - Throws: `TLSError.handshakeTimedOut` when `timeout` elapses first;
    ///   the verification errors (`certificateExpired`, `hostnameMismatch`,
    ///   `unknownCA`, `certificateInvalid`, `peerCertificateMissing`);
    ///   `peerAlert` when the peer refuses us; `protocolError`; `truncated`
    ///   when the peer closes; `SocketError`s; injected errors.
    /// - Note: switches. Same hub only.
    public func handshake(timeout: Duration? = nil) throws {
        if isHandshakeComplete { return }
        var deadline = CallDeadline(timeout)
        _ = try drive(&deadline) { SSL_do_handshake($0) }
        isHandshakeComplete = true
        // What a TLS 1.3 server holds now is its session tickets: they wait to
        // leave with its first answer, even when the stream first parks to read
        // (the client never waits for them), so they cost no segment of their
        // own. Anything else the peer needs goes now.
        if configuration.role == .client || SSL_version(ssl) != TLS1_3_VERSION {
            try flushOutput(&deadline)
        } else {
            heldTickets = green_bio_pending_out(bio)
        }
    }

    // MARK: - Reading and writing

    /// Receives up to `buffer.count` decrypted bytes into `buffer`.
    /// - Returns: the byte count; 0 after the peer's `close_notify` (end of stream).
    /// - Throws: `TLSError.truncated` when the peer closed without
    ///   `close_notify`; `SocketError.timedOut` when `timeout` elapses (the
    ///   stream stays usable); other `TLSError`s and `SocketError`s; injected errors.
    /// - Note: may switch (while nothing is there to read). Same hub only.
    public func recv(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration? = nil) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        var deadline = CallDeadline(timeout)
        // After a short read, with nothing left in OpenSSL's buffers and no
        // close_notify seen, SSL_read could only say "want read": wait first.
        if bio.pointee.drained != 0, isHandshakeComplete, failure == nil, !socket.isClosed,
           SSL_has_pending(ssl) == 0, SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN == 0 {
            let until = try deadline.fix()
            if mustSendBeforeReading { try flushOutput(blocking: false, deadline: until) }
            try wait(forReading: true, until: until)
            bio.pointee.drained = 0
        }
        let count = Int32(clamping: buffer.count)
        return Int(try drive(&deadline) { SSL_read($0, buffer.baseAddress, count) })
    }

    /// Encrypts and sends what can go now of `buffer` (at least one byte),
    /// waiting only while nothing can.
    /// - Returns: the byte count sent.
    /// - Throws: `SocketError` (`brokenPipe`, `connectionReset`, `timedOut`;
    ///   `closed` after `shutdown` or `close`); `TLSError`s; injected errors.
    /// - Note: may switch. Same hub only.
    public func send(_ buffer: UnsafeRawBufferPointer, timeout: Duration? = nil) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        if sentCloseNotify { throw SocketError.closed }
        var deadline = CallDeadline(timeout)
        let count = Int32(clamping: buffer.count)
        let sent = Int(try drive(&deadline) { SSL_write($0, buffer.baseAddress, count) })
        try flushOutput(&deadline)
        return sent
    }

    /// Encrypts and sends all of `buffer`.
    /// - Throws: as `send(_:timeout:)`; `SocketError.timedOut` when the whole
    ///   send outlasts `timeout` (part of the data may have gone).
    /// - Note: may switch. Same hub only.
    public func sendAll(_ buffer: UnsafeRawBufferPointer, timeout: Duration? = nil) throws {
        if sentCloseNotify && buffer.count > 0 { throw SocketError.closed }
        var deadline = CallDeadline(timeout)
        var offset = 0
        while offset < buffer.count {
            let count = Int32(clamping: buffer.count - offset)
            offset += Int(try drive(&deadline) {
                SSL_write($0, buffer.baseAddress! + offset, count)
            })
        }
        try flushOutput(&deadline)
    }

    // MARK: - Ending

    /// Sends `close_notify`: the peer reads a clean end of stream. Receiving
    /// still works (read until `recv` returns 0 for the peer's own); sending
    /// does not. Does nothing when already sent, before the handshake, or
    /// after the session failed.
    /// - Throws: `SocketError`s (`timedOut` when the socket stays full past
    ///   `timeout`); injected errors.
    /// - Note: may switch (while the socket is full). Same hub only.
    public func shutdown(timeout: Duration? = nil) throws {
        guard isHandshakeComplete, failure == nil, !sentCloseNotify else { return }
        var deadline = CallDeadline(timeout)
        // SSL_shutdown: 0 when our close_notify went and the peer's has not come, 1 when both.
        _ = try drive(&deadline) { ssl in
            let rc = SSL_shutdown(ssl)
            return rc >= 0 ? 1 : rc
        }
        sentCloseNotify = true
        try flushOutput(&deadline)
    }

    /// Sends `close_notify` if the socket takes it at once, then closes the
    /// socket. A greenlet waiting on the stream is woken with `SocketError.closed`.
    /// Closing twice does nothing.
    /// - Note: never switches. Same hub only.
    public func close() {
        if !socket.isClosed {
            bio.pointee.fd = socket.fd
            if isHandshakeComplete && !sentCloseNotify && failure == nil {
                green_err_clear()
                _ = SSL_shutdown(ssl)
                green_err_clear()
                sentCloseNotify = true
            }
            // Best effort: what the socket does not take now is dropped.
            _ = green_bio_flush_out(bio)
        }
        bio.pointee.fd = -1
        socket.close()
    }

    // MARK: - What was negotiated

    /// The protocol agreed through ALPN ("h2", "http/1.1"), or nil.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3" or "TLSv1.2" once the handshake is done.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The cipher suite agreed, once the handshake is done ("TLS_AES_256_GCM_SHA384").
    public var cipherSuite: String? {
        guard let c = SSL_get_current_cipher(ssl) else { return nil }
        return String(cString: SSL_CIPHER_get_name(c))
    }

    /// The subject of the peer's certificate ("/CN=localhost"), or nil when it sent none.
    public var peerCertificateSubject: String? {
        guard let cert = SSL_get0_peer_certificate(ssl), let name = X509_get_subject_name(cert),
              let text = X509_NAME_oneline(name, nil, 0)
        else { return nil }
        defer { CRYPTO_free(text, nil, 0) }
        return String(cString: text)
    }

    /// On a server: the host name the client asked for through SNI, or nil.
    public var requestedServerName: String? {
        guard let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }

    // MARK: - The I/O loop

    /// Calls `call` (an SSL_* function) until it succeeds, parking on the
    /// socket while OpenSSL wants to read or write. The error queue is
    /// cleared before each call and read right after it, with no switch in between.
    /// - Returns: what `call` returned (> 0), or 0 at `close_notify`.
    /// - Throws: as `handshake`/`recv`/`send`; final errors are kept in `failure`.
    private func drive(_ deadline: inout CallDeadline, _ call: (OpaquePointer) -> Int32) throws -> Int32 {
        if let failure { throw failure }
        while true {
            // The descriptor may have been closed (and its number reused) meanwhile.
            if socket.isClosed { throw SocketError.closed }
            bio.pointee.fd = socket.fd
            bio.pointee.last_errno = 0
            green_err_clear()
            let rc = call(ssl)
            if rc > 0 {
                // A first recv or send makes the handshake when handshake() was not called.
                if !isHandshakeComplete && SSL_is_init_finished(ssl) == 1 { isHandshakeComplete = true }
                return rc
            }
            let code = SSL_get_error(ssl, rc)
            switch code {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let until = try deadline.fix()
                if code == SSL_ERROR_WANT_READ && mustSendBeforeReading {
                    // The peer may wait for what we hold (a handshake flight): send it
                    // before parking. After the handshake only tickets or alerts can
                    // be held; a writer greenlet may be waiting to write, so do not wait.
                    try flushOutput(blocking: !isHandshakeComplete, deadline: until)
                }
                try wait(forReading: code == SSL_ERROR_WANT_READ, until: until)
                // Readable (or writable) now: the next recv is a real one.
                bio.pointee.drained = 0
            case SSL_ERROR_ZERO_RETURN:
                return 0
            case SSL_ERROR_SYSCALL:
                let err = bio.pointee.last_errno
                ERR_clear_error()
                throw fail(err != 0 ? SocketError.from(errno: err, call: "TLS I/O") : TLSError.truncated)
            case SSL_ERROR_SSL:
                throw fail(OpenSSLErrors.sessionError(ssl, expectedName: serverName))
            default:
                ERR_clear_error()
                throw fail(TLSError.protocolError("unexpected OpenSSL result \(code)"))
            }
        }
    }


    /// Whether the BIO holds bytes to send before parking to read: anything
    /// but exactly the session tickets the handshake left for the first answer.
    private var mustSendBeforeReading: Bool {
        let pending = green_bio_pending_out(bio)
        return pending > 0 && pending != heldTickets
    }

    /// Sends the records our BIO holds (see `green_bio_state`), waiting while the socket is full.
    @inline(__always)
    private func flushOutput(_ deadline: inout CallDeadline) throws {
        if green_bio_pending_out(bio) == 0 { return }
        try flushOutput(blocking: true, deadline: try deadline.fix())
    }

    /// Sends the records our BIO holds; when the socket is full, waits if
    /// `blocking`, else leaves the rest for later.
    private func flushOutput(blocking: Bool, deadline: Duration?) throws {
        while true {
            if socket.isClosed { throw SocketError.closed }
            bio.pointee.fd = socket.fd
            switch green_bio_flush_out(bio) {
            case 1:
                heldTickets = 0
                return
            case 0:
                if !blocking { return }
                try wait(forReading: false, until: deadline)
            default:
                throw fail(SocketError.from(errno: bio.pointee.last_errno, call: "send"))
            }
        }
    }

    /// Parks until the socket is ready; a timeout during the handshake is `handshakeTimedOut`.
    /// `deadline` is a monotonic instant (see `CallDeadline`).
    private func wait(forReading: Bool, until deadline: Duration?) throws {
        var left: Duration? = nil
        do {
            if let deadline {
                left = deadline - CallDeadline.now()
                if left! <= .zero { throw SocketError.timedOut }
            }
            if forReading { try socket.waitUntilReadable(timeout: left) } else { try socket.waitUntilWritable(timeout: left) }
        } catch SocketError.timedOut where !isHandshakeComplete {
            throw TLSError.handshakeTimedOut
        }
    }

    /// Records `error` as final. An alert OpenSSL wrote about it is sent if the socket takes it at once.
    private func fail(_ error: any Error) -> any Error {
        failure = error
        if !socket.isClosed {
            bio.pointee.fd = socket.fd
            _ = green_bio_flush_out(bio)
        }
        return error
    }

    // MARK: - Names

    private func setServerName(_ name: String) throws {
        if TLSStream.isIPAddress(name) {
            // Verified against the certificate's IP addresses; never sent as SNI (RFC 6066).
            if configuration.verifiesPeer, X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1 {
                throw TLSError.invalidConfiguration("bad IP address '\(name)'")
            }
            return
        }
        if configuration.verifiesPeer {
            SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard SSL_set1_host(ssl, name) == 1 else { throw TLSError.invalidConfiguration("bad host name '\(name)'") }
        }
        guard green_ssl_set_sni(ssl, name) == 1 else { throw TLSError.invalidConfiguration("bad SNI name '\(name)'") }
    }

    static func isIPAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }
}

/// Our BIO method, made once for the process (OpenSSL keeps method tables for good).
let greenBIOMethod: OpaquePointer = {
    guard let m = green_bio_method_new() else { fatalError("GreenTLS: OpenSSL could not make a BIO method") }
    return m
}()
