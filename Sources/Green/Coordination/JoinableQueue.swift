/// A FIFO queue that counts unfinished work: gevent's `JoinableQueue`.
///
/// Every item put counts as a task; a consumer calls `taskDone()` when it has
/// finished with an item it got; `join()` waits until every task is done.
///
/// ```swift
/// let work = JoinableQueue<URL>()
/// for _ in 1...4 { spawn { while let u = try work.nextItem() { fetch(u); try work.taskDone() } } }
/// for u in urls { try work.put(u) }
/// try work.join()
/// ```
///
/// Thread-safety: thread-safe, as `Queue`: from another hub, `taskDone()` and
/// `unfinished` ask the queue's hub for the answer and `join()` waits there in
/// a proxy greenlet.
public final class JoinableQueue<Element>: Queue<Element> {
    private let joiners = WaiterQueue<Void>()

    /// An empty joinable queue; `maxSize` as for `Queue`.
    public override init(maxSize: Int? = nil) { super.init(maxSize: maxSize) }

    /// Tasks put and not yet marked done.
    /// - Note: from another hub, switches (it asks the queue's hub).
    public var unfinished: Int {
        if awayFromHome { return readAtHome("JoinableQueue.unfinished") { [self] in unfinishedTasks } }
        return unfinishedTasks
    }

    /// Marks one task done; when none is left, wakes every `join()`.
    /// - Throws: `CoordinationError.taskDoneTooOften` when no task is unfinished.
    /// - Note: never switches; from another hub, switches to wait for the
    ///   answer (and never throws an error injected into the caller).
    public func taskDone() throws {
        if awayFromHome { return try home.callNonBlocking { [self] in try taskDone() } }
        guard unfinishedTasks > 0 else { throw CoordinationError.taskDoneTooOften }
        unfinishedTasks -= 1
        if unfinishedTasks == 0 {
            for w in joiners.popAllParked() { w.wake() }
        }
    }

    /// Waits until every task put so far is marked done.
    /// - Parameter timeout: nil waits without limit; zero only checks.
    /// - Returns: `true` when all are done, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller; `GreenError.negativeTimeout`;
    ///   `GreenError.wouldBlockForever`.
    /// - Note: switches while tasks are unfinished; from another hub, always.
    @discardableResult
    public func join(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        if awayFromHome {
            if timeout == .zero { return try home.callNonBlocking { [self] in try join(timeout: .zero) } }
            return try home.call { [self] in try join(timeout: timeout) }
        }
        if unfinishedTasks == 0 { return true }
        if timeout == .zero { return false }
        let w = Waiter<Void>(currentGreenlet)
        joiners.append(w)
        return try block(w, in: joiners, timeout: timeout)
    }
}
