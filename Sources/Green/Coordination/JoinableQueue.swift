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
public final class JoinableQueue<Element>: Queue<Element> {
    private let joiners = WaiterQueue<Void>()

    /// An empty joinable queue; `maxSize` as for `Queue`.
    public override init(maxSize: Int? = nil) { super.init(maxSize: maxSize) }

    /// Tasks put and not yet marked done.
    public var unfinished: Int { unfinishedTasks }

    /// Marks one task done; when none is left, wakes every `join()`.
    /// - Throws: `CoordinationError.taskDoneTooOften` when no task is unfinished.
    /// - Note: never switches.
    public func taskDone() throws {
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
    /// - Note: switches while tasks are unfinished.
    @discardableResult
    public func join(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        if unfinishedTasks == 0 { return true }
        if timeout == .zero { return false }
        let w = Waiter<Void>(currentGreenlet)
        joiners.append(w)
        return try block(w, in: joiners, timeout: timeout)
    }
}
