import Glibc
import Logging

/// A TCP server that runs a greenlet per connection: gevent's `StreamServer`.
///
/// ```swift
/// let server = try StreamServer(port: 8000) { socket, peer in
///     let reader = BufferedReader(socket)
///     for line in reader.lines { try socket.sendAll(line + "\n") }
/// }
/// try server.serveForever()
/// ```
///
/// The handler's socket is closed when the handler returns. An error thrown
/// by a handler ends that connection only; it is logged (a peer going away,
/// `SocketError.isDisconnect`, at debug level; anything else as an error).
///
/// With `maxConnections`, the server stops accepting while that many handlers
/// run (the kernel's backlog holds the rest), like gevent's server with a Pool.
///
/// When `accept` fails for want of resources (`EMFILE`: out of descriptors,
/// `ENFILE`, `ENOBUFS`, `ENOMEM`), the server logs it once (a warning), then
/// retries as soon as one of its handlers ends or after a delay that doubles
/// from 10 ms to 1 s, reminding every minute with a count while it lasts; when
/// an `accept` succeeds again it logs how long it failed and how many times
/// (a notice). Short outages within a minute of that (descriptors freed one at
/// a time) are counted quietly and reported with the next warning. The
/// kernel's backlog holds new connections meanwhile.
///
/// Everything runs on the hub of the thread that calls `start()`.
public final class StreamServer {
    /// What runs for each connection, in a greenlet of its own.
    public typealias Handler = (_ socket: Socket, _ peer: SocketAddress) throws -> Void

    static let logger = Logger(label: "green.server")

    private let requested: SocketAddress?
    private let host: String
    private let requestedPort: Int
    private let backlog: Int32
    /// The most handlers running at once; nil for no limit.
    public let maxConnections: Int?
    private let handler: Handler
    private var listener: Socket?
    private var acceptLoop: Greenlet<Void>?
    private var handlers: [Int: AnyGreenlet] = [:]
    private var nextHandlerID = 0
    private let slotFreed = WaitList()
    private let drained = WaitList()
    private let stoppedList = WaitList()
    private var stopping = false
    /// Whether `stop` has finished (or the server never started).
    public private(set) var isStopped = true
    /// Connections accepted so far.
    public private(set) var acceptedCount = 0
    /// `accept` calls that failed so far (out of descriptors and the like).
    public private(set) var acceptFailureCount = 0

    /// A server for `host` (a numeric address or a name; "" for every IPv4
    /// interface, "::" for every interface) and `port` (0: the kernel picks one;
    /// read it back from `port` after `start()`). Nothing is bound until `start()`.
    public init(host: String = "", port: Int, backlog: Int32 = 1024, maxConnections: Int? = nil, handler: @escaping Handler) {
        self.requested = nil
        self.host = host
        self.requestedPort = port
        self.backlog = backlog
        self.maxConnections = maxConnections.map { max(1, $0) }
        self.handler = handler
    }

    /// A server on `address`. Nothing is bound until `start()`.
    public init(address: SocketAddress, backlog: Int32 = 1024, maxConnections: Int? = nil, handler: @escaping Handler) {
        self.requested = address
        self.host = address.host
        self.requestedPort = address.port
        self.backlog = backlog
        self.maxConnections = maxConnections.map { max(1, $0) }
        self.handler = handler
    }

    /// A server on a socket already listening (the server takes it over and closes it on `stop`).
    public init(listening socket: Socket, maxConnections: Int? = nil, handler: @escaping Handler) {
        self.requested = nil
        self.host = ""
        self.requestedPort = 0
        self.backlog = 0
        self.listener = socket
        self.maxConnections = maxConnections.map { max(1, $0) }
        self.handler = handler
    }

    /// The address the server listens on, once started.
    public var address: SocketAddress? { try? listener?.localAddress() }

    /// The port the server listens on, once started (0 before).
    public var port: Int { address?.port ?? 0 }

    /// Handlers running now.
    public var connectionCount: Int { handlers.count }

    /// Binds, listens and starts accepting in a greenlet of its own; returns at once.
    /// - Throws: `SocketError` (`addressInUse`, `resolutionFailed`...); `alreadyStarted` semantics: a second call does nothing.
    /// - Note: switches only to resolve a host name.
    public func start() throws {
        if acceptLoop != nil { return }
        if listener == nil {
            let address = try requested ?? Resolver.resolve(host: host, port: requestedPort, kind: .stream)[0]
            listener = try Socket.listening(on: address, backlog: backlog)
        }
        stopping = false
        isStopped = false
        acceptLoop = spawn(name: "server-accept") { try self.acceptConnections() }
    }

    /// Starts (if needed) and blocks until `stop` has finished.
    /// - Throws: as `start()`; errors injected into the caller.
    /// - Note: switches.
    public func serveForever() throws {
        try start()
        while !isStopped { _ = try stoppedList.wait() }
    }

    private func acceptConnections() throws {
        guard let listener else { return }
        var failures = AcceptFailures()
        while !stopping {
            if let maxConnections, handlers.count >= maxConnections {
                _ = try slotFreed.wait()
                continue
            }
            let client: Socket, peer: SocketAddress
            do {
                (client, peer) = try listener.accept()
            } catch SocketError.closed {
                return
            } catch let e as SocketError {
                // EMFILE and the like: wait for descriptors to free up, as gevent
                // does, but say so once (and once a minute), not at every retry.
                acceptFailureCount += 1
                if let line = failures.failed() {
                    StreamServer.logger.warning("accept failed: \(e); \(line)")
                }
                _ = try slotFreed.wait(timeout: failures.nextDelay())
                continue
            }
            if let line = failures.succeeded() {
                StreamServer.logger.notice("accepting again: \(line)")
            }
            acceptedCount += 1
            spawnHandler(client, peer)
        }
    }

    /// What the log says of failed `accept`s: the first failure of an outage
    /// is a warning, unless one was logged less than a minute ago (then it is
    /// counted quietly: descriptors that free up one at a time make many short
    /// outages); a long outage gets a reminder each minute; the end of an
    /// announced outage is a notice with its count. Retries back off from
    /// 10 ms to 1 s within an outage.
    private struct AcceptFailures {
        private var outageStart: ContinuousClock.Instant?
        private var inOutage = 0
        private var announced = false
        private var lastLine: ContinuousClock.Instant?
        private var quiet = 0
        private var delay: Duration = .milliseconds(10)

        /// Notes a failure; returns the line to log, if any.
        mutating func failed() -> String? {
            let now = ContinuousClock.now
            if outageStart == nil { outageStart = now }
            inOutage += 1
            let minuteSinceLastLine = lastLine.map { now - $0 >= .seconds(60) } ?? true
            guard minuteSinceLastLine else {
                if !announced { quiet += 1 }
                return nil
            }
            lastLine = now
            if announced { return "still failing: \(summary(now))" }
            announced = true
            defer { quiet = 0 }
            let earlier = quiet > 0 ? " (\(quiet) more failed in short outages since the last report)" : ""
            return "retrying quietly until it succeeds\(earlier)"
        }

        /// Notes a success; returns the line to log when it ends an announced outage.
        mutating func succeeded() -> String? {
            guard let start = outageStart else { return nil }
            defer {
                outageStart = nil
                inOutage = 0
                announced = false
                delay = .milliseconds(10)
            }
            return announced ? summary(ContinuousClock.now, since: start) : nil
        }

        /// The delay before the next try: 10 ms, doubling up to 1 s.
        mutating func nextDelay() -> Duration {
            defer { delay = min(delay * 2, .seconds(1)) }
            return delay
        }

        private func summary(_ now: ContinuousClock.Instant, since start: ContinuousClock.Instant? = nil) -> String {
            let ms = Int((now - (start ?? outageStart ?? now)) / .milliseconds(1))
            return "\(inOutage) failed attempts over \(ms) ms"
        }
    }

    private func spawnHandler(_ client: Socket, _ peer: SocketAddress) {
        nextHandlerID += 1
        let id = nextHandlerID
        let handler = self.handler
        let g = spawn(name: "conn-\(id)") {
            defer {
                client.close()
                self.handlers[id] = nil
                self.slotFreed.wakeOne()
                if !self.drained.isEmpty { self.drained.wakeAll() }
            }
            do {
                try handler(client, peer)
            } catch is GreenletExit {
            } catch let e as SocketError where e.isDisconnect || e == .timedOut {
                StreamServer.logger.debug("connection from \(peer) ended: \(e)")
            } catch {
                StreamServer.logger.error("handler for \(peer) failed: \(error)")
            }
        }
        handlers[id] = g
    }

    /// Stops the server: stops accepting (closes the listening socket), lets
    /// running handlers finish for up to `timeout`, then kills the rest and
    /// waits for them to end. Calling it again, or from a handler, is safe
    /// (a handler that stops the server is not waited for).
    /// - Throws: errors injected into the caller while it waits.
    /// - Note: switches.
    public func stop(timeout: Duration? = .seconds(1)) throws {
        if stopping {
            while !isStopped { _ = try stoppedList.wait() }
            return
        }
        stopping = true
        listener?.close()
        if let acceptLoop, acceptLoop !== AnyGreenlet.current { try acceptLoop.kill() }
        let me = AnyGreenlet.current
        func others() -> [AnyGreenlet] { handlers.values.filter { $0 !== me } }
        if let timeout {
            let deadline = ContinuousClock.now + timeout
            while !others().isEmpty {
                let left = deadline - ContinuousClock.now
                if left <= .zero { break }
                if try !drained.wait(timeout: left) { break }
            }
        } else {
            while !others().isEmpty { _ = try drained.wait() }
        }
        try killAll(others())
        acceptLoop = nil
        isStopped = true
        stoppedList.wakeAll()
    }
}
