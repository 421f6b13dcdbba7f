/// A flag greenlets can wait for: gevent's `Event`.
///
/// `set()` wakes every waiter at once; while set, `wait` returns at once;
/// `clear()` makes later waits block again.
///
/// ```swift
/// let ready = Event()
/// spawn { try sleep(.milliseconds(50)); ready.set() }
/// try ready.wait()
/// ```
///
/// Thread-safety: for the greenlets of one hub (see Waiters.swift for where
/// cross-thread wake-ups would go).
public final class Event: Waitable {
    private var flag: Bool
    private let waiters = WaiterQueue<Void>()
    private let signals = SignalList()

    /// An event, clear unless `isSet` is true.
    public init(isSet: Bool = false) { flag = isSet }

    /// Whether the event is set.
    public var isSet: Bool { flag }

    /// Sets the event and wakes every greenlet waiting for it, in the order
    /// they started waiting. Setting a set event does nothing.
    /// - Note: never switches; the waiters run when the caller next blocks or yields.
    public func set() {
        if flag { return }
        flag = true
        for w in waiters.popAllParked() { w.wake() }
        signals.notifyAll()
    }

    /// Clears the event: later waits block until the next `set()`.
    /// - Note: never switches.
    public func clear() { flag = false }

    /// Waits until the event is set.
    /// - Parameter timeout: nil waits without limit; zero only checks.
    /// - Returns: `true` when set (a waiter woken by `set()` returns `true`
    ///   even if the event was cleared again before it ran), `false` when
    ///   `timeout` elapsed first.
    /// - Throws: an error injected into the caller (kill, a started `Timeout`);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when the event is not set.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        if flag { return true }
        if timeout == .zero { return false }
        let w = Waiter<Void>(currentGreenlet)
        waiters.append(w)
        return try block(w, in: waiters, timeout: timeout)
    }

    // MARK: Waitable

    /// Signaled while set.
    public var isSignaled: Bool { flag }
    /// See `Waitable`.
    public func subscribe(_ signal: WaitSignal) { signals.add(signal) }
    /// See `Waitable`.
    public func unsubscribe(_ signal: WaitSignal) { signals.remove(signal) }
}
