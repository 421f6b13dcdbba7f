import Glibc
import Logging

/// A UDP server that runs a greenlet per datagram: gevent's `DatagramServer`.
///
/// ```swift
/// let server = DatagramServer(port: 9000) { data, peer, server in
///     _ = try server.sendTo(data, address: peer)   // echo
/// }
/// try server.serveForever()
/// ```
///
/// An error thrown by a handler is logged and ends that handler only.
/// Everything runs on the hub of the thread that calls `start()`.
public final class DatagramServer {
    /// What runs for each datagram, in a greenlet of its own.
    public typealias Handler = (_ data: [UInt8], _ peer: SocketAddress, _ server: DatagramServer) throws -> Void

    private let host: String
    private let requestedPort: Int
    private let maxDatagramSize: Int
    private let handler: Handler
    /// The bound socket, once started.
    public private(set) var socket: Socket?
    private var receiveLoop: Greenlet<Void>?
    private var handlers: [Int: AnyGreenlet] = [:]
    private var nextID = 0
    private let drained = WaitList()
    private let stoppedList = WaitList()
    private var stopping = false
    /// Whether `stop` has finished (or the server never started).
    public private(set) var isStopped = true

    /// A server for `host` ("" for every IPv4 interface, "::" for every
    /// interface) and `port` (0: the kernel picks; read `port` after `start()`).
    /// Datagrams longer than `maxDatagramSize` are cut.
    public init(host: String = "", port: Int, maxDatagramSize: Int = 65536, handler: @escaping Handler) {
        self.host = host
        self.requestedPort = port
        self.maxDatagramSize = maxDatagramSize
        self.handler = handler
    }

    /// The port bound, once started (0 before).
    public var port: Int { (try? socket?.localAddress())?.port ?? 0 }

    /// Binds and starts receiving in a greenlet of its own; returns at once.
    /// A second call does nothing.
    /// - Throws: `SocketError` (`addressInUse`, `resolutionFailed`...).
    /// - Note: switches only to resolve a host name.
    public func start() throws {
        if receiveLoop != nil { return }
        let address = try Resolver.resolve(host: host, port: requestedPort, kind: .datagram)[0]
        let s = try Socket(family: address.family, kind: .datagram)
        do {
            try s.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
            try s.bind(to: address)
        } catch {
            s.close()
            throw error
        }
        socket = s
        stopping = false
        isStopped = false
        receiveLoop = spawn(name: "datagram-receive") { try self.receive(on: s) }
    }

    /// Starts (if needed) and blocks until `stop` has finished.
    /// - Throws: as `start()`; errors injected into the caller.
    /// - Note: switches.
    public func serveForever() throws {
        try start()
        while !isStopped { _ = try stoppedList.wait() }
    }

    /// Sends a datagram from the server's socket.
    /// - Returns: the byte count sent.
    /// - Throws: `SocketError.closed` when not started or stopped; the socket's errors.
    /// - Note: may switch.
    public func sendTo(_ data: [UInt8], address: SocketAddress, timeout: Duration? = nil) throws -> Int {
        guard let socket else { throw SocketError.closed }
        return try socket.sendTo(data, address: address, timeout: timeout)
    }

    private func receive(on s: Socket) throws {
        while !stopping {
            let data: [UInt8], peer: SocketAddress
            do {
                (data, peer) = try s.recvFrom(maxBytes: maxDatagramSize)
            } catch SocketError.closed {
                return
            } catch let e as SocketError {
                // ICMP errors of earlier sends show up here (ECONNREFUSED): not fatal.
                StreamServer.logger.debug("recvfrom: \(e)")
                continue
            }
            nextID += 1
            let id = nextID
            let handler = self.handler
            handlers[id] = spawn(name: "datagram-\(id)") {
                defer {
                    self.handlers[id] = nil
                    if !self.drained.isEmpty { self.drained.wakeAll() }
                }
                do {
                    try handler(data, peer, self)
                } catch is GreenletExit {
                } catch {
                    StreamServer.logger.error("datagram handler for \(peer) failed: \(error)")
                }
            }
        }
    }

    /// Stops the server: closes the socket, lets running handlers finish for
    /// up to `timeout`, then kills the rest. Calling it again is safe.
    /// - Throws: errors injected into the caller while it waits.
    /// - Note: switches.
    public func stop(timeout: Duration? = .seconds(1)) throws {
        if stopping {
            while !isStopped { _ = try stoppedList.wait() }
            return
        }
        stopping = true
        if let receiveLoop, receiveLoop !== AnyGreenlet.current { try receiveLoop.kill() }
        let me = AnyGreenlet.current
        func others() -> [AnyGreenlet] { handlers.values.filter { $0 !== me } }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while !others().isEmpty {
            var left: Duration? = nil
            if let deadline {
                left = deadline - ContinuousClock.now
                if left! <= .zero { break }
            }
            if try !drained.wait(timeout: left) { break }
        }
        try killAll(others())
        socket?.close()
        receiveLoop = nil
        isStopped = true
        stoppedList.wakeAll()
    }
}
