/// A rendezvous between greenlets: a `put` waits until a getter takes its item
/// (gevent's `Channel`, Go's unbuffered channel), plus `close()`.
///
/// Putters and getters are each served in the order they started waiting.
///
/// ```swift
/// let ch = Channel<String>()
/// spawn { try ch.put("ping"); ch.close() }
/// for msg in ch { print(msg) }
/// ```
///
/// Kill-safety: a putter killed while blocked has not delivered its item (the
/// put threw); a getter killed while blocked took nothing; an item is handed to
/// exactly one getter.
///
/// Thread-safety: thread-safe. The channel belongs to the hub that made it
/// (its `home`); every member may be called from another hub or a plain
/// thread and runs there (see CrossHubOperations.swift): a blocking `put` or
/// `get` waits there in a proxy greenlet while the caller waits on its own
/// hub, so a rendezvous between hubs completes on the home hub; `putNowait`,
/// `getNowait` and the properties ask for the answer; `close` travels there
/// without waiting. A blocked getter killed across hubs keeps an item it was
/// handed (the kill is thrown at its next blocking call). `wait(any:)` and
/// `iwait` take the channel on its own hub only.
public final class Channel<Element>: Sequence, Waitable, HubHomed {
    private let getters = WaiterQueue<Element>()
    private let putters = WaiterQueue<Element>()
    private let signals = SignalList()
    private var closed = false
    /// The hub whose thread owns the channel's state.
    public let home: Hub

    /// A channel with nobody waiting, belonging to the calling thread's hub
    /// (or the hub a `GreenRuntime.withPlacement` block places on).
    public init() { home = Hub.forNewGreenlet }

    // From another hub, each property asks the home hub (and so switches).

    /// Whether `close()` was called.
    public var isClosed: Bool {
        if awayFromHome { return readAtHome("Channel.isClosed") { [self] in closed } }
        return closed
    }
    /// How many getters are blocked waiting for an item (proxies of callers on other hubs included).
    public var waitingGetters: Int {
        if awayFromHome { return readAtHome("Channel.waitingGetters") { [self] in getters.parkedCount } }
        return getters.parkedCount
    }
    /// How many putters are blocked waiting for a getter (proxies of callers on other hubs included).
    public var waitingPutters: Int {
        if awayFromHome { return readAtHome("Channel.waitingPutters") { [self] in putters.parkedCount } }
        return putters.parkedCount
    }

    /// Hands `item` to a getter, waiting for one if none waits.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Throws: `QueueError.full` when no getter came within `timeout` (the
    ///   item is not delivered); `QueueError.closed` when closed (or closing
    ///   while blocked); an error injected into the caller (the item is not
    ///   delivered); `GreenError.negativeTimeout`.
    /// - Note: switches when no getter waits; from another hub, always.
    public func put(_ item: Element, timeout: Duration? = nil) throws {
        let timeout = try validated(timeout)
        if awayFromHome {
            if timeout == .zero { return try home.callNonBlocking { [self] in try put(item, timeout: .zero) } }
            return try home.call { [self] in try put(item, timeout: timeout) }
        }
        if closed { throw QueueError.closed }
        if let g = getters.popParked() {
            g.payload = item
            g.wake()
            return
        }
        if timeout == .zero { throw QueueError.full }
        let w = Waiter(currentGreenlet, payload: item)
        putters.append(w)
        signals.notifyAll()
        if try block(w, in: putters, timeout: timeout) {
            if w.outcome == .closed { throw QueueError.closed }
            return
        }
        throw QueueError.full
    }

    /// Hands `item` to a getter that is already waiting.
    /// - Throws: `QueueError.full` when none waits; `QueueError.closed`.
    /// - Note: never switches; from another hub, switches to wait for the answer.
    public func putNowait(_ item: Element) throws { try put(item, timeout: .zero) }

    /// Takes an item from a putter, waiting for one if none waits.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Throws: `QueueError.empty` when no putter came within `timeout`;
    ///   `QueueError.closed` once closed; an error injected into the caller
    ///   (no item is taken then); `GreenError.negativeTimeout`.
    /// - Note: switches when no putter waits; from another hub, always.
    public func get(timeout: Duration? = nil) throws -> Element {
        let timeout = try validated(timeout)
        if awayFromHome {
            if timeout == .zero { return try home.callNonBlocking { [self] in try get(timeout: .zero) } }
            return try home.call { [self] in try get(timeout: timeout) }
        }
        if let p = putters.popParked() {
            let item = p.payload!
            p.payload = nil
            p.wake()
            return item
        }
        if closed { throw QueueError.closed }
        if timeout == .zero { throw QueueError.empty }
        return try awaitHandedItem(from: getters, timeout: timeout)
    }

    /// Takes an item from a putter that is already waiting.
    /// - Throws: `QueueError.empty` when none waits; `QueueError.closed`.
    /// - Note: never switches; from another hub, switches to wait for the answer.
    public func getNowait() throws -> Element { try get(timeout: .zero) }

    /// Like `get`, but returns nil once the channel is closed instead of throwing.
    /// - Throws: as `get`, except `QueueError.closed`.
    /// - Note: switches when no putter waits.
    public func nextItem(timeout: Duration? = nil) throws -> Element? {
        do { return try get(timeout: timeout) } catch QueueError.closed { return nil }
    }

    /// Closes the channel: blocked putters and getters fail with
    /// `QueueError.closed` (no item is delivered), and so do later calls;
    /// iterations end. Closing twice does nothing.
    /// - Note: never switches. From another hub, the close travels to the
    ///   channel's hub (after the caller's earlier operations there) and this
    ///   returns at once.
    public func close() {
        if awayFromHome { _ = home.runThreadsafe { [self] in close() }; return }
        if closed { return }
        closed = true
        for g in getters.popAllParked() { g.wake(.closed) }
        for p in putters.popAllParked() { p.wake(.closed) }
        signals.notifyAll()
    }

    /// Iterates by `get()` until the channel is closed. A kill or `Timeout`
    /// that interrupts a wait ends the loop and is thrown at the greenlet's
    /// next blocking call; use `nextItem()` to have it thrown at once. The
    /// iterator may be used from any hub or thread, by one greenlet at a time.
    public func makeIterator() -> AnyIterator<Element> {
        var done = false
        return AnyIterator { [self] in
            if done { return nil }
            do {
                if let item = try self.nextItem() { return item }
            } catch {
                reinjectForNextBlockingCall(error)
            }
            done = true
            return nil
        }
    }

    // MARK: Waitable

    /// Signaled when a get would not block: a putter waits, or the channel is closed.
    public var isSignaled: Bool { closed || putters.hasParked }
    /// See `Waitable`: the channel's home.
    public var waitableHome: Hub? { home }
    /// See `Waitable`.
    public func subscribe(_ signal: WaitSignal) { signals.add(signal) }
    /// See `Waitable`.
    public func unsubscribe(_ signal: WaitSignal) { signals.remove(signal) }
}
