import Green

/// Kept-alive connections of a client, per host (`host:port`), at most
/// `limit` open per host at once (idle and in use together): a request
/// beyond that waits for one to come back. Used on one hub only.
final class ConnectionPool {
    private final class Host {
        var idle: [ClientConnection] = []
        var open = 0
        let freed = WaitList()
    }

    private var hosts: [String: Host] = [:]
    let limit: Int
    let idleTimeout: Duration

    init(limit: Int, idleTimeout: Duration) {
        self.limit = max(1, limit)
        self.idleTimeout = idleTimeout
    }

    /// A connection for `key`: an idle one still good (most recent first), a
    /// new one from `connect` while under the limit, or the next one given
    /// back, waiting until `deadline`.
    /// - Returns: the connection and whether it was reused.
    /// - Throws: `HTTPClientError.requestTimeout` at `deadline`; what `connect` throws; injected errors.
    /// - Note: switches while the host is at its limit, and while connecting.
    func acquire(
        _ key: String, fresh: Bool, deadline: ContinuousClock.Instant, connect: () throws -> ClientConnection
    ) throws -> (ClientConnection, reused: Bool) {
        let host = hosts[key] ?? { let h = Host(); hosts[key] = h; return h }()
        while true {
            while !fresh, let c = host.idle.popLast() {
                if c.isReusable(idleTimeout: idleTimeout) { return (c, true) }
                c.close()
                host.open -= 1
            }
            if fresh, host.open >= limit, let c = host.idle.first {
                // A fresh connection is wanted: make room by closing an idle one.
                host.idle.removeFirst()
                c.close()
                host.open -= 1
            }
            if host.open < limit {
                host.open += 1
                do {
                    return (try connect(), false)
                } catch {
                    host.open -= 1
                    _ = host.freed.wakeOne()
                    throw error
                }
            }
            let left = deadline - .now
            if left <= .zero { throw HTTPClientError.requestTimeout }
            if try !host.freed.wait(timeout: left) { throw HTTPClientError.requestTimeout }
        }
    }

    /// Gives `connection` back: kept for reuse when `reusable`, closed otherwise.
    func release(_ connection: ClientConnection, reusable: Bool) {
        guard let host = hosts[connection.key] else {
            connection.close()
            return
        }
        if reusable {
            connection.lastUsed = .now
            host.idle.append(connection)
        } else {
            connection.close()
            host.open -= 1
        }
        _ = host.freed.wakeOne()
    }

    /// Idle connections to `key` now.
    func idleCount(_ key: String) -> Int { hosts[key]?.idle.count ?? 0 }

    /// Open connections to `key` now (idle and in use).
    func openCount(_ key: String) -> Int { hosts[key]?.open ?? 0 }

    /// Closes every idle connection.
    func closeIdle() {
        for host in hosts.values {
            for c in host.idle { c.close() }
            host.open -= host.idle.count
            host.idle.removeAll()
        }
    }
}
