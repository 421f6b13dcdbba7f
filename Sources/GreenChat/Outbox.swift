import Green

/// The queue between a chat user's room side and its writer greenlet: bounded
/// by the bytes it holds, drained a batch at a time, closable with a last
/// message in it.
///
/// Its backlog (`bytes`) counts what is queued *and* what the writer has taken
/// but the kernel has not accepted yet: the writer reports each send with
/// `delivered(_:)`. (Counting only what is queued made a user whose writer
/// held a large batch, parked on a full socket, look empty: its talker kept
/// reading.)
///
/// Why not `Green.Queue`: the writer wants every waiting message at once, the
/// room wants a non-blocking offer that fails when the user has no room,
/// talkers wait for room with a deadline, and eviction wants to clear it and
/// push one notice past the limit.
/// A final class with non-mutating methods: greenlets park inside `take` and
/// the waits. Hub-local, like the room.
final class Outbox {
    private var items: [[UInt8]] = []
    /// Bytes queued, not yet taken by the writer.
    private var queued = 0
    /// Bytes taken by the writer and not yet accepted by the kernel.
    private var inFlight = 0
    /// The backlog: queued and in flight.
    var bytes: Int { queued + inFlight }
    let limit: Int
    private(set) var isClosed = false
    /// Since when this user counts as holding lines up: its writer's last
    /// progress when a line first found no room here (nil: no line has, or
    /// the backlog has come down to half of `limit` since). Set by the room.
    var fullSince: ContinuousClock.Instant?
    /// When the writer last got bytes accepted by the kernel, or the backlog
    /// last went from empty to not: the writer has been stuck since then.
    private(set) var lastProgress = ContinuousClock.now
    /// Whether a stalled user already got its one extension (its socket was
    /// writable when its time ran out: its writer had not run yet).
    var extended = false
    private let waiters = WaitList()
    private let drained = WaitList()

    init(limit: Int) { self.limit = limit }

    /// Whether `count` more bytes fit (an empty backlog takes any message).
    func hasRoom(for count: Int) -> Bool {
        bytes == 0 || bytes + count <= limit
    }

    /// Adds `message` if it fits (`hasRoom`) and the outbox is open. Never switches.
    func offer(_ message: [UInt8]) -> Bool {
        guard !isClosed, hasRoom(for: message.count) else { return false }
        append(message)
        return true
    }

    /// Adds `message` whatever the limit (a notice), unless closed.
    func force(_ message: [UInt8]) {
        if !isClosed { append(message) }
    }

    private func append(_ message: [UInt8]) {
        if bytes == 0 { lastProgress = ContinuousClock.now }
        items.append(message)
        queued += message.count
        if !waiters.isEmpty { waiters.wakeOne() }
    }

    /// Drops everything queued (what the writer holds is still sent).
    func clear() {
        items.removeAll()
        queued = 0
        fullSince = nil
        wakeDrainWaiters()
    }

    /// No more messages: `take` returns what is queued, then nil. Wakes every waiter.
    func close() {
        isClosed = true
        waiters.wakeAll()
        drained.wakeAll()
    }

    /// Wakes the greenlets waiting for this backlog to come down (its user left).
    func wakeDrainWaiters() {
        if !drained.isEmpty { drained.wakeAll() }
    }

    /// The writer reports that the kernel accepted `count` of the bytes it took.
    /// At half of `limit` or less, waiters for room are woken and the outbox
    /// no longer counts as full.
    func delivered(_ count: Int) {
        inFlight -= count
        lastProgress = ContinuousClock.now
        if bytes <= limit / 2 {
            fullSince = nil
            extended = false
            wakeDrainWaiters()
        }
    }

    /// Waits until the backlog comes down to half of `limit` (or the outbox
    /// closes, or its user leaves), for at most `timeout`.
    /// - Returns: false when `timeout` elapsed first.
    /// - Throws: errors injected into the waiter.
    /// - Note: switches.
    func waitForDrain(timeout: Duration?) throws -> Bool {
        try drained.wait(timeout: timeout)
    }

    /// Waits while more than half of `limit` is in the backlog (and it is open).
    /// - Returns: false when `timeout` elapsed first.
    /// - Throws: errors injected into the waiter.
    /// - Note: switches while over half full.
    func waitUntilHalfEmpty(timeout: Duration?) throws -> Bool {
        guard bytes > limit / 2, !isClosed else { return true }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while bytes > limit / 2 && !isClosed {
            let left = deadline.map { $0 - ContinuousClock.now }
            if let left, left <= .zero { return false }
            _ = try drained.wait(timeout: left)
        }
        return true
    }

    /// Everything queued, waiting while nothing is; nil once closed and empty.
    /// The writer must report what it sends with `delivered(_:)`.
    /// - Throws: errors injected into the writer (kill).
    /// - Note: switches when the queue is empty.
    func take() throws -> [[UInt8]]? {
        while items.isEmpty {
            if isClosed { return nil }
            _ = try waiters.wait()
        }
        let batch = items
        items = []
        inFlight += queued
        queued = 0
        return batch
    }
}
