import CLibev
import Glibc

/// A cooperative socket: gevent's `socket`, Swift-shaped.
///
/// The descriptor is non-blocking; a call that would block parks the running
/// greenlet on the hub (libev) until the socket is ready, so other greenlets
/// run meanwhile. Every blocking call takes `timeout:` (nil: no limit; the
/// limit covers the whole call) and throws `SocketError`, or an error injected
/// into the greenlet (`GreenletExit` from `kill`, a started `Timeout`).
///
/// A socket belongs to the hub of the thread that uses it. One greenlet may
/// wait to read while another waits to write (a reader and a writer
/// greenlet); two waiting in the same direction is `SocketError.concurrentUse`.
/// `close()` wakes any greenlet waiting on it with `SocketError.closed`.
///
/// A final class on purpose: blocking inside a `mutating` method of a struct
/// stored in a class would hold an exclusive access across a switch.
public final class Socket: CustomStringConvertible {
    /// Stream (TCP) or datagram (UDP).
    public enum Kind: Sendable {
        /// `SOCK_STREAM`: TCP.
        case stream
        /// `SOCK_DGRAM`: UDP.
        case datagram

        var rawValue: Int32 { self == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue) }
    }

    /// Which directions `shutdown(_:)` closes.
    public enum ShutdownMode: Sendable {
        /// No more receiving (`SHUT_RD`).
        case read
        /// No more sending: the peer reads end-of-stream (`SHUT_WR`).
        case write
        /// Both (`SHUT_RDWR`).
        case both
    }

    /// The file descriptor, or -1 once closed.
    public private(set) var fd: Int32
    /// IPv4 or IPv6.
    public let family: SocketAddress.Family
    /// Stream or datagram.
    public let kind: Kind
    private var readWatcher: SocketWatcher?
    private var writeWatcher: SocketWatcher?

    /// A new, unconnected socket.
    /// - Throws: `SocketError.system` when the kernel refuses one (`EMFILE`...).
    /// - Note: never switches.
    public init(family: SocketAddress.Family = .ipv4, kind: Kind = .stream) throws {
        let fd = Glibc.socket(
            family.rawValue, kind.rawValue | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketError.from(errno: errno, call: "socket") }
        self.fd = fd
        self.family = family
        self.kind = kind
    }

    /// Takes ownership of an open socket descriptor and makes it non-blocking.
    /// - Note: never switches.
    public init(adopting fd: Int32, family: SocketAddress.Family, kind: Kind = .stream) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        self.fd = fd
        self.family = family
        self.kind = kind
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    public var description: String {
        "Socket(fd: \(fd), \(family), \(kind))"
    }

    /// Whether `close()` was called.
    public var isClosed: Bool { fd < 0 }

    // MARK: - Waiting

    /// Parks the running greenlet until the socket is ready for `events`.
    /// - Throws: `timedOut` when `deadline` passes; `closed` when the socket is
    ///   closed meanwhile; `concurrentUse`; injected errors.
    /// - Note: switches.
    func waitReady(_ events: Hub.IOEvents, deadline: ContinuousClock.Instant?) throws {
        guard fd >= 0 else { throw SocketError.closed }
        var timeout: Duration? = nil
        if let deadline {
            let left = deadline - ContinuousClock.now
            if left <= .zero { throw SocketError.timedOut }
            timeout = left
        }
        let watcher: SocketWatcher
        if events == .read {
            if let w = readWatcher { watcher = w } else {
                watcher = SocketWatcher(hub: Hub.current, fd: fd, events: events)
                readWatcher = watcher
            }
        } else {
            if let w = writeWatcher { watcher = w } else {
                watcher = SocketWatcher(hub: Hub.current, fd: fd, events: events)
                writeWatcher = watcher
            }
        }
        if watcher.waiter != nil { throw SocketError.concurrentUse }
        let ready = try watcher.wait(timeout: timeout)
        if fd < 0 { throw SocketError.closed }
        if !ready { throw SocketError.timedOut }
    }

    @inline(__always)
    static func deadline(_ timeout: Duration?) throws -> ContinuousClock.Instant? {
        guard let t = try validated(timeout) else { return nil }
        return ContinuousClock.now + t
    }

    @inline(__always)
    private func liveFD() throws -> Int32 {
        if fd < 0 { throw SocketError.closed }
        return fd
    }

    /// Runs `op` on the descriptor until it no longer says "would block",
    /// parking on `event` in between; `EINTR` retries. `errno` is read right
    /// after `op`, before anything can switch. The deadline is fixed at the
    /// first wait and shared by calls that pass the same `deadline`.
    /// - Returns: what `op` returned (0 or more).
    /// - Throws: `SocketError.from(errno:call:)`; `timedOut`; `closed`; injected errors.
    /// - Note: switches while the descriptor is not ready.
    private func retrying(
        _ call: String, waitingFor event: Hub.IOEvents, timeout: Duration?,
        deadline: inout ContinuousClock.Instant??, _ op: (Int32) -> Int
    ) throws -> Int {
        while true {
            let n = op(try liveFD())
            if n >= 0 { return n }
            let err = errno
            switch err {
            case EAGAIN, EWOULDBLOCK:
                if deadline == nil { deadline = .some(try Socket.deadline(timeout)) }
                try waitReady(event, deadline: deadline!)
            case EINTR: continue
            default: throw SocketError.from(errno: err, call: call)
            }
        }
    }

    // MARK: - Connecting

    /// Connects to `address`.
    /// - Throws: `connectionRefused`, `timedOut`, `unreachable`, `closed`, other
    ///   `SocketError`s; injected errors.
    /// - Note: may switch (while the connection is being made).
    public func connect(to address: SocketAddress, timeout: Duration? = nil) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let deadline = try Socket.deadline(timeout)
        let fd = try liveFD()
        let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return }
        let err = errno
        guard err == EINPROGRESS || err == EINTR else { throw SocketError.from(errno: err, call: "connect") }
        try waitReady(.write, deadline: deadline)
        var soError: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(self.fd, SOL_SOCKET, SO_ERROR, &soError, &len) < 0 {
            throw SocketError.from(errno: errno, call: "getsockopt")
        }
        if soError != 0 { throw SocketError.from(errno: soError, call: "connect") }
    }

    /// A TCP connection to `address` (gevent's `create_connection` for one address).
    /// - Throws: as `connect(to:timeout:)`.
    /// - Note: may switch.
    public static func connect(to address: SocketAddress, timeout: Duration? = nil) throws -> Socket {
        let s = try Socket(family: address.family)
        do {
            try s.connect(to: address, timeout: timeout)
        } catch {
            s.close()
            throw error
        }
        return s
    }

    /// A TCP connection to `host` (a name or a numeric address) on `port`:
    /// resolves the name (through the thread pool unless numeric) and tries
    /// each address in turn, like gevent's `create_connection`.
    /// - Throws: `resolutionFailed`; the last address's connect error;
    ///   `timedOut` when the whole call outlasts `timeout`; injected errors.
    /// - Note: may switch.
    public static func connect(host: String, port: Int, timeout: Duration? = nil) throws -> Socket {
        let deadline = try Socket.deadline(timeout)
        let addresses = try Resolver.resolve(host: host, port: port, kind: .stream, timeout: timeout)
        var lastError: any Error = SocketError.resolutionFailed(host: host, code: 0, message: "no address")
        for address in addresses {
            let left = deadline.map { $0 - ContinuousClock.now }
            if let left, left <= .zero { throw SocketError.timedOut }
            do {
                return try Socket.connect(to: address, timeout: left)
            } catch let e as SocketError {
                lastError = e
            }
        }
        throw lastError
    }

    // MARK: - Serving

    /// Binds the socket to `address`.
    /// - Throws: `addressInUse`, `addressNotAvailable`, `closed`, other `SocketError`s.
    /// - Note: never switches.
    public func bind(to address: SocketAddress) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let fd = try liveFD()
        let rc = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        if rc < 0 { throw SocketError.from(errno: errno, call: "bind") }
    }

    /// Starts listening for connections.
    /// - Throws: `closed`, other `SocketError`s.
    /// - Note: never switches.
    public func listen(backlog: Int32 = 1024) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let fd = try liveFD()
        if Glibc.listen(fd, backlog) < 0 { throw SocketError.from(errno: errno, call: "listen") }
    }

    /// A TCP socket bound to `address` (with `SO_REUSEADDR`) and listening.
    /// An IPv6 wildcard ("::") also accepts IPv4 connections.
    /// - Throws: `addressInUse` and other `SocketError`s.
    /// - Note: never switches.
    public static func listening(on address: SocketAddress, backlog: Int32 = 1024) throws -> Socket {
        let s = try Socket(family: address.family)
        do {
            try s.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            if address.family == .ipv6 { try s.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0) }
            try s.bind(to: address)
            try s.listen(backlog: backlog)
        } catch {
            s.close()
            throw error
        }
        return s
    }

    /// Accepts a connection: the new socket (non-blocking) and the peer's address.
    /// - Throws: `timedOut`; `closed` (also when closed while waiting);
    ///   `SocketError.system` for `EMFILE` and the like; injected errors.
    /// - Note: may switch (while no connection is pending).
    public func accept(timeout: Duration? = nil) throws -> (Socket, SocketAddress) {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let deadline = try Socket.deadline(timeout)
        while true {
            let fd = try liveFD()
            var peer = SocketAddress(empty: ())
            let client = peer.withMutableSockaddr { sa, len in
                green_accept4(fd, sa, &len, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            }
            if client >= 0 {
                return (Socket(acceptedFD: client, family: peer.family, kind: kind), peer)
            }
            let err = errno
            switch err {
            case EAGAIN, EWOULDBLOCK: try waitReady(.read, deadline: deadline)
            case EINTR, ECONNABORTED: continue
            default: throw SocketError.from(errno: err, call: "accept")
            }
        }
    }

    private init(acceptedFD: Int32, family: SocketAddress.Family, kind: Kind) {
        self.fd = acceptedFD
        self.family = family
        self.kind = kind
    }

    // MARK: - Receiving

    /// Receives up to `buffer.count` bytes into `buffer`.
    /// - Returns: the byte count; 0 at end of stream (the peer shut down or
    ///   closed), or for an empty datagram.
    /// - Throws: `connectionReset`, `timedOut`, `closed`, other `SocketError`s; injected errors.
    /// - Note: may switch (while nothing is there to read).
    public func recv(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration? = nil) throws -> Int {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        var deadline: ContinuousClock.Instant?? = nil
        return try retrying("recv", waitingFor: .read, timeout: timeout, deadline: &deadline) { fd in
            Glibc.recv(fd, buffer.baseAddress, buffer.count, 0)
        }
    }

    /// Receives up to `maxBytes` bytes.
    /// - Returns: the bytes; empty at end of stream.
    /// - Throws: as `recv(into:timeout:)`.
    /// - Note: may switch.
    public func recv(maxBytes: Int = 65536, timeout: Duration? = nil) throws -> [UInt8] {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
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

    // MARK: - Sending

    /// Sends what the kernel takes now of `buffer`, waiting only while it takes nothing.
    /// - Returns: the byte count sent (at least 1 for a non-empty buffer).
    /// - Throws: `connectionReset`, `brokenPipe`, `timedOut`, `closed`,
    ///   other `SocketError`s; injected errors. Never raises SIGPIPE.
    /// - Note: may switch (while the send buffer is full).
    public func send(_ buffer: UnsafeRawBufferPointer, timeout: Duration? = nil) throws -> Int {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        var deadline: ContinuousClock.Instant?? = nil
        return try retrying("send", waitingFor: .write, timeout: timeout, deadline: &deadline) { fd in
            Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
        }
    }

    /// Sends what the kernel takes now of `bytes`; see `send(_:timeout:)` for buffers.
    /// - Note: may switch.
    public func send(_ bytes: [UInt8], timeout: Duration? = nil) throws -> Int {
        try bytes.withUnsafeBytes { try send($0, timeout: timeout) }
    }

    /// Sends all of `buffer`, waiting as often as needed.
    /// - Throws: as `send(_:timeout:)`; `timedOut` when the whole send outlasts
    ///   `timeout` (part of the data may have been sent).
    /// - Note: may switch.
    public func sendAll(_ buffer: UnsafeRawBufferPointer, timeout: Duration? = nil) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        var deadline: ContinuousClock.Instant?? = nil
        var offset = 0
        while offset < buffer.count {
            offset += try retrying("send", waitingFor: .write, timeout: timeout, deadline: &deadline) { fd in
                Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            }
        }
    }

    /// Sends all of `bytes`.
    /// - Throws: as `sendAll(_:timeout:)` over a buffer.
    /// - Note: may switch.
    public func sendAll(_ bytes: [UInt8], timeout: Duration? = nil) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        try bytes.withUnsafeBytes { try sendAll($0, timeout: timeout) }
    }

    /// Sends all of `text`, UTF-8 encoded.
    /// - Throws: as `sendAll(_:timeout:)` over a buffer.
    /// - Note: may switch.
    public func sendAll(_ text: String, timeout: Duration? = nil) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        var text = text
        try text.withUTF8 { try sendAll(UnsafeRawBufferPointer($0), timeout: timeout) }
    }

    // MARK: - Datagrams

    /// Sends one datagram to `address`.
    /// - Returns: the byte count sent.
    /// - Throws: `timedOut`, `closed`, other `SocketError`s; injected errors.
    /// - Note: may switch (while the send buffer is full).
    public func sendTo(_ bytes: [UInt8], address: SocketAddress, timeout: Duration? = nil) throws -> Int {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        var deadline: ContinuousClock.Instant?? = nil
        return try retrying("sendto", waitingFor: .write, timeout: timeout, deadline: &deadline) { fd in
            bytes.withUnsafeBytes { buf in
                address.withSockaddr { sa, len in Glibc.sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), sa, len) }
            }
        }
    }

    /// Receives one datagram of at most `maxBytes` bytes (the rest of a longer
    /// one is dropped) and the address it came from.
    /// - Throws: `timedOut`, `closed`, other `SocketError`s; injected errors.
    /// - Note: may switch (while nothing is there to read).
    public func recvFrom(maxBytes: Int = 65536, timeout: Duration? = nil) throws -> ([UInt8], SocketAddress) {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        var deadline: ContinuousClock.Instant?? = nil
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        var peer = SocketAddress(empty: ())
        let n = try retrying("recvfrom", waitingFor: .read, timeout: timeout, deadline: &deadline) { fd in
            peer = SocketAddress(empty: ())
            return buffer.withUnsafeMutableBytes { buf in
                peer.withMutableSockaddr { sa, len in Glibc.recvfrom(fd, buf.baseAddress, buf.count, 0, sa, &len) }
            }
        }
        buffer.removeSubrange(n...)
        return (buffer, peer)
    }

    // MARK: - Ending

    /// Shuts down one or both directions; the descriptor stays open.
    /// - Throws: `closed`; `SocketError.system` (e.g. `ENOTCONN`).
    /// - Note: never switches.
    public func shutdown(_ how: ShutdownMode) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let fd = try liveFD()
        let mode: Int32
        switch how {
        case .read: mode = Int32(SHUT_RD)
        case .write: mode = Int32(SHUT_WR)
        case .both: mode = Int32(SHUT_RDWR)
        }
        if Glibc.shutdown(fd, mode) < 0 { throw SocketError.from(errno: errno, call: "shutdown") }
    }

    /// Closes the descriptor. A greenlet waiting on this socket is woken and
    /// its call throws `SocketError.closed`. Closing twice does nothing.
    /// - Note: never switches.
    public func close() {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        guard fd >= 0 else { return }
        let old = fd
        fd = -1
        // Stop the watchers while the descriptor is still open, then wake their waiters.
        for watcher in [readWatcher, writeWatcher] {
            guard let watcher else { continue }
            watcher.stop()
            if let g = watcher.waiter, g.state == .parked { g.interrupt(with: SocketError.closed) }
        }
        readWatcher = nil
        writeWatcher = nil
        Glibc.close(old)
    }

    // MARK: - Options and addresses

    /// Sets an integer socket option (`setsockopt`).
    /// - Throws: `closed`; `SocketError.system`.
    /// - Note: never switches.
    public func setOption(_ level: Int32, _ name: Int32, _ value: Int32) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let fd = try liveFD()
        var v = value
        if setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) < 0 {
            throw SocketError.from(errno: errno, call: "setsockopt")
        }
    }

    /// Reads an integer socket option (`getsockopt`).
    /// - Throws: `closed`; `SocketError.system`.
    /// - Note: never switches.
    public func option(_ level: Int32, _ name: Int32) throws -> Int32 {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let fd = try liveFD()
        var v: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, level, name, &v, &len) < 0 { throw SocketError.from(errno: errno, call: "getsockopt") }
        return v
    }

    /// Turns Nagle's algorithm off (`TCP_NODELAY`) or on.
    /// - Throws: `closed`; `SocketError.system`.
    public func setNoDelay(_ on: Bool = true) throws {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, on ? 1 : 0)
    }

    /// The address this socket is bound to.
    /// - Throws: `closed`; `SocketError.system`.
    public func localAddress() throws -> SocketAddress {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let fd = try liveFD()
        var a = SocketAddress(empty: ())
        let rc = a.withMutableSockaddr { getsockname(fd, $0, &$1) }
        if rc < 0 { throw SocketError.from(errno: errno, call: "getsockname") }
        return a
    }

    /// The address of the connected peer.
    /// - Throws: `closed`; `SocketError.system` (`ENOTCONN`).
    public func remoteAddress() throws -> SocketAddress {
        (readWatcher ?? writeWatcher)?.hub.preconditionOnHub("socket \(fd)")
        let fd = try liveFD()
        var a = SocketAddress(empty: ())
        let rc = a.withMutableSockaddr { getpeername(fd, $0, &$1) }
        if rc < 0 { throw SocketError.from(errno: errno, call: "getpeername") }
        return a
    }
}

/// A libev watcher for one socket and one direction, set up once and started
/// for each wait. Not calling `ev_io_set` again on every wait matters: libev
/// then sees the same fd and mask and makes no `epoll_ctl` call when a
/// greenlet waits again before the loop polls (the usual case: a handler
/// reads, answers, and waits for the next request).
final class SocketWatcher {
    private let io: UnsafeMutablePointer<ev_io>
    unowned(unsafe) let hub: Hub
    /// The greenlet parked on this watcher, if any.
    var waiter: AnyGreenlet?

    init(hub: Hub, fd: Int32, events: Hub.IOEvents) {
        self.hub = hub
        io = .allocate(capacity: 1)
        io.initialize(to: ev_io())
        green_ev_io_init(io, socketWatcherFired, fd, events.rawValue)
        green_ev_set_data(io, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        stop()
        io.deallocate()
    }

    @inline(__always)
    func stop() {
        if green_ev_is_active(io) != 0 { ev_io_stop(hub.loop, io) }
    }

    /// Parks the running greenlet until the descriptor is ready.
    /// - Returns: false when `timeout` elapsed first.
    /// - Throws: injected errors.
    /// - Note: switches.
    func wait(timeout: Duration?) throws -> Bool {
        waiter = hub.current
        ev_io_start(hub.loop, io)
        defer {
            waiter = nil
            stop()
        }
        return try hub.park(timeout: timeout)
    }

    fileprivate func fired() {
        if let g = waiter { hub.wake(g) }
    }
}

private let socketWatcherFired: green_ev_io_cb = { loop, w, _ in
    ev_io_stop(loop, w)
    Unmanaged<SocketWatcher>.fromOpaque(green_ev_get_data(w)!).takeUnretainedValue().fired()
}

/// glibc's `accept4`, which Glibc's module map hides (it needs `_GNU_SOURCE`).
/// Its arguments are C ints and pointers, passed alike by both conventions.
@_silgen_name("accept4")
private func green_accept4(
    _ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: UnsafeMutablePointer<socklen_t>?, _ flags: Int32
) -> Int32
