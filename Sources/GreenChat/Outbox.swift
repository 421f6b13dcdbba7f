import Green

/// The queue between a chat user's room side and its writer greenlet: bounded
/// by the bytes it holds, drained a batch at a time (one `send` for all that
/// waits), closable with a last message in it.
///
/// Why not `Green.Queue`: the writer wants every waiting message at once, the
/// room wants a non-blocking offer that fails when the user is too far behind,
/// and eviction wants to clear it and push one notice past the limit.
/// A final class with non-mutating methods: the writer parks inside `take`.
final class Outbox {
    private var items: [[UInt8]] = []
    private(set) var bytes = 0
    let limit: Int
    private(set) var isClosed = false
    private let waiters = WaitList()
    private let halfEmptied = WaitList()

    init(limit: Int) { self.limit = limit }

    /// Adds `message` unless that would put more than `limit` bytes in the
    /// queue, or it is closed. Never switches.
    func offer(_ message: [UInt8]) -> Bool {
        if isClosed || bytes + message.count > limit { return false }
        append(message)
        return true
    }

    /// Adds `message` whatever the limit (a notice to the user), unless closed.
    func force(_ message: [UInt8]) {
        if !isClosed { append(message) }
    }

    private func append(_ message: [UInt8]) {
        items.append(message)
        bytes += message.count
        if !waiters.isEmpty { waiters.wakeOne() }
    }

    /// Drops everything queued.
    func clear() {
        items.removeAll()
        bytes = 0
        if !halfEmptied.isEmpty { halfEmptied.wakeAll() }
    }

    /// No more messages: `take` returns what is queued, then nil.
    func close() {
        isClosed = true
        waiters.wakeAll()
        halfEmptied.wakeAll()
    }

    /// Waits while more than half of `limit` is queued (and it is open).
    /// - Returns: false when `timeout` elapsed first.
    /// - Throws: errors injected into the waiter.
    /// - Note: switches while over half full.
    func waitUntilHalfEmpty(timeout: Duration?) throws -> Bool {
        guard bytes > limit / 2, !isClosed else { return true }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while bytes > limit / 2 && !isClosed {
            let left = deadline.map { $0 - ContinuousClock.now }
            if let left, left <= .zero { return false }
            _ = try halfEmptied.wait(timeout: left)
        }
        return true
    }

    /// Everything queued, waiting while nothing is; nil once closed and empty.
    /// - Throws: errors injected into the writer (kill).
    /// - Note: switches when the queue is empty.
    func take() throws -> [[UInt8]]? {
        while items.isEmpty {
            if isClosed { return nil }
            _ = try waiters.wait()
        }
        let batch = items
        items = []
        bytes = 0
        if !halfEmptied.isEmpty { halfEmptied.wakeAll() }
        return batch
    }
}
