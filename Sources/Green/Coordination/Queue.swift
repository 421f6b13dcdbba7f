import DequeModule

/// A FIFO queue shared by greenlets: gevent's `Queue`, plus `close()`.
///
/// Unbounded by default; with `maxSize`, `put` blocks while the queue is full.
/// `get` blocks while it is empty. Blocked getters and putters are served in
/// the order they started waiting, and an item is handed *directly* to the
/// longest-waiting getter, so a late-coming greenlet cannot overtake it.
///
/// ```swift
/// let tasks = Queue<Int>(maxSize: 3)
/// spawn { for i in 1...9 { try tasks.put(i) }; tasks.close() }
/// for task in tasks { print(task) }   // ends once closed and drained
/// ```
///
/// Kill-safety: a greenlet killed (or timed out) while blocked leaves no
/// trace: its item was either placed (the put returned) or not (the put threw);
/// an item is handed to exactly one getter, which returns it.
///
/// `LifoQueue`, `PriorityQueue` and `JoinableQueue` are kinds of `Queue`.
///
/// Thread-safety: thread-safe. The queue belongs to the hub that made it (its
/// `home`); every member may be called from another hub or a plain thread
/// and runs on the home hub (see CrossHubOperations.swift): a blocking `get`
/// or bounded `put` waits there in a proxy greenlet while the caller waits on
/// its own hub; `getNowait`, `putNowait`, an unbounded `put` and the
/// properties ask for the answer (so from another hub they switch); `close`
/// travels there without waiting. Items put by one greenlet or thread are
/// placed in the order put, wherever it runs. A blocked getter killed across
/// hubs keeps an item it was handed (the kill is thrown at its next blocking
/// call). `wait(any:)` and `iwait` take the queue on its own hub only.
public class Queue<Element>: Sequence, Waitable, HubHomed {
    /// The most items the queue holds; nil when unbounded.
    public let maxSize: Int?
    private var fifo = Deque<Element>()
    let getters = WaiterQueue<Element>()
    let putters = WaiterQueue<Element>()
    let signals = SignalList()
    private var closed = false
    /// Items placed and not yet marked done (used by `JoinableQueue`).
    var unfinishedTasks = 0
    /// The hub whose thread owns the queue's state.
    public let home: Hub

    /// An empty queue.
    /// - Parameter maxSize: the most items it holds (at least 1); nil for no
    ///   limit. For a queue of size 0 (a rendezvous), use `Channel`.
    public init(maxSize: Int? = nil) {
        precondition(maxSize.map { $0 > 0 } ?? true, "Queue maxSize must be at least 1 (use Channel for a rendezvous)")
        self.maxSize = maxSize
        home = Hub.forNewGreenlet
    }

    // MARK: Storage (overridden by LifoQueue and PriorityQueue)

    var storedCount: Int { fifo.count }
    func store(_ item: Element) { fifo.append(item) }
    func unstore() -> Element { fifo.removeFirst() }
    func storedNext() -> Element? { fifo.first }

    /// An item entered the queue (put into storage, or handed to a getter).
    @inline(__always)
    private func placed() { unfinishedTasks += 1 }

    // MARK: State

    // From another hub, each of these asks the home hub (and so switches).

    /// How many items the queue holds (items of blocked putters not counted).
    public var count: Int {
        if awayFromHome { return readAtHome("Queue.count") { [self] in storedCount } }
        return storedCount
    }
    /// Whether the queue holds no item.
    public var isEmpty: Bool {
        if awayFromHome { return readAtHome("Queue.isEmpty") { [self] in storedCount == 0 } }
        return storedCount == 0
    }
    /// Whether a put would block.
    public var isFull: Bool {
        if awayFromHome { return readAtHome("Queue.isFull") { [self] in isFull } }
        return maxSize.map { storedCount >= $0 } ?? false
    }
    /// Whether `close()` was called.
    public var isClosed: Bool {
        if awayFromHome { return readAtHome("Queue.isClosed") { [self] in closed } }
        return closed
    }
    /// How many greenlets are blocked in `get` (proxies of callers on other hubs included).
    public var waitingGetters: Int {
        if awayFromHome { return readAtHome("Queue.waitingGetters") { [self] in getters.parkedCount } }
        return getters.parkedCount
    }
    /// How many greenlets are blocked in `put` (proxies of callers on other hubs included).
    public var waitingPutters: Int {
        if awayFromHome { return readAtHome("Queue.waitingPutters") { [self] in putters.parkedCount } }
        return putters.parkedCount
    }
    /// The item the next `get` would return, without removing it; nil when empty.
    /// - Note: never blocks; from another hub, switches.
    public func peek() -> Element? {
        if awayFromHome { return readAtHome("Queue.peek()") { [self] in storedNext() } }
        return storedNext()
    }

    // MARK: Put

    /// Adds `item`, blocking while the queue is full.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Throws: `QueueError.full` when the queue stayed full for `timeout`;
    ///   `QueueError.closed` when the queue is closed (or closes while blocked;
    ///   the item is then not added); an error injected into the caller (the
    ///   item is then not added); `GreenError.negativeTimeout`.
    /// - Note: switches only when the queue is full; from another hub, always
    ///   (an unbounded put or a zero timeout waits only for the answer, and
    ///   then never throws an error injected into the caller).
    public func put(_ item: Element, timeout: Duration? = nil) throws {
        let timeout = try validated(timeout)
        if awayFromHome { return try putAway(item, timeout: timeout) }
        if closed { throw QueueError.closed }
        if let g = getters.popParked() {
            // A getter waits, so the queue is empty: hand the item over.
            g.payload = item
            placed()
            g.wake()
            return
        }
        if !isFull {
            store(item)
            placed()
            signals.notifyAll()
            return
        }
        if timeout == .zero { throw QueueError.full }
        let w = Waiter(currentGreenlet, payload: item)
        putters.append(w)
        if try block(w, in: putters, timeout: timeout) {
            if w.outcome == .closed { throw QueueError.closed }
            return  // a getter moved the item into the queue
        }
        throw QueueError.full
    }

    /// Adds `item` without blocking (gevent's `put_nowait`).
    /// - Throws: `QueueError.full`; `QueueError.closed`.
    /// - Note: never switches; from another hub, switches to wait for the answer.
    public func putNowait(_ item: Element) throws { try put(item, timeout: .zero) }

    private func putAway(_ item: Element, timeout: Duration?) throws {
        if timeout == .zero || maxSize == nil {
            // Never blocks at home: only the answer is awaited.
            try home.callNonBlocking { [self] in try put(item, timeout: timeout) }
        } else {
            try home.call { [self] in try put(item, timeout: timeout) }
        }
    }

    // MARK: Get

    /// Removes and returns the next item, blocking while the queue is empty.
    /// After `close()`, returns what is left, then throws `QueueError.closed`.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Throws: `QueueError.empty` when nothing came within `timeout` (as
    ///   gevent); `QueueError.closed` once closed and drained; an error injected
    ///   into the caller (no item is taken then); `GreenError.negativeTimeout`.
    /// - Note: switches only when the queue is empty; from another hub, always.
    public func get(timeout: Duration? = nil) throws -> Element {
        let timeout = try validated(timeout)
        if awayFromHome {
            if timeout == .zero { return try home.callNonBlocking { [self] in try get(timeout: .zero) } }
            return try home.call { [self] in try get(timeout: timeout) }
        }
        if storedCount > 0 {
            let item = unstore()
            if let p = putters.popParked() {
                store(p.payload!)
                p.payload = nil
                placed()
                p.wake()
            }
            return item
        }
        if closed { throw QueueError.closed }
        if timeout == .zero { throw QueueError.empty }
        return try awaitHandedItem(from: getters, timeout: timeout)
    }

    /// Removes and returns the next item without blocking (gevent's `get_nowait`).
    /// - Throws: `QueueError.empty`; `QueueError.closed` once closed and drained.
    /// - Note: never switches; from another hub, switches to wait for the answer.
    public func getNowait() throws -> Element { try get(timeout: .zero) }

    /// Like `get`, but returns nil once the queue is closed and drained instead
    /// of throwing: the loop form that throws kills and timeouts at once.
    ///
    /// ```swift
    /// while let job = try jobs.nextItem() { try handle(job) }
    /// ```
    /// - Throws: `QueueError.empty` when `timeout` elapsed; an error injected
    ///   into the caller; `GreenError.negativeTimeout`.
    /// - Note: switches only when the queue is empty.
    public func nextItem(timeout: Duration? = nil) throws -> Element? {
        do { return try get(timeout: timeout) } catch QueueError.closed { return nil }
    }

    // MARK: Close

    /// Closes the queue: puts fail with `QueueError.closed` from now on
    /// (blocked putters too, their items not added); gets return what is
    /// left, then fail with `QueueError.closed`; iterations end. Closing twice
    /// does nothing.
    /// - Note: never switches. From another hub, the close travels to the
    ///   queue's hub (after the caller's earlier operations there) and this
    ///   returns at once.
    public func close() {
        if awayFromHome { _ = home.runThreadsafe { [self] in close() }; return }
        if closed { return }
        closed = true
        for g in getters.popAllParked() { g.wake(.closed) }
        for p in putters.popAllParked() { p.wake(.closed) }
        signals.notifyAll()
    }

    // MARK: Sequence

    /// Iterates by `get()` until the queue is closed and drained.
    ///
    /// A kill or `Timeout` that interrupts a wait ends the loop and is thrown
    /// at the greenlet's next blocking call; use `nextItem()` in a
    /// `while let` loop to have it thrown at once.
    public func makeIterator() -> QueueIterator<Element> { QueueIterator(self) }

    // MARK: Waitable

    /// Signaled when a get would not block: an item is there, or the queue is closed.
    public var isSignaled: Bool { storedCount > 0 || closed }
    /// See `Waitable`: the queue's home.
    public var waitableHome: Hub? { home }
    /// See `Waitable`.
    public func subscribe(_ signal: WaitSignal) { signals.add(signal) }
    /// See `Waitable`.
    public func unsubscribe(_ signal: WaitSignal) { signals.remove(signal) }
}

/// Takes items from a queue until it is closed and drained; see `Queue.makeIterator()`.
/// A class, so that blocking in `next()` holds no access to shared storage.
///
/// Thread-safety: it may be used from any hub or thread, as its queue (each
/// `next()` is a `nextItem()`), by one greenlet at a time.
public final class QueueIterator<Element>: IteratorProtocol {
    private let queue: Queue<Element>
    private var done = false

    init(_ queue: Queue<Element>) { self.queue = queue }

    /// The next item; nil once the queue is closed and drained (or a kill or
    /// `Timeout` interrupted the wait: it is thrown at the next blocking call).
    /// - Note: switches while the queue is empty.
    public func next() -> Element? {
        if done { return nil }
        do {
            if let item = try queue.nextItem() { return item }
        } catch {
            reinjectForNextBlockingCall(error)
        }
        done = true
        return nil
    }
}
