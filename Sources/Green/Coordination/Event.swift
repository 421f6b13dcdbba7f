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
/// Thread-safety: thread-safe. The event belongs to the hub that made it (its
/// `home`; under `GreenRuntime.withPlacement`, the hub placed on); `set`,
/// `clear`, `wait` and `isSet` from another hub or thread run on that hub
/// (`set` and `clear` travel there without waiting; `wait` waits there in a
/// proxy greenlet and `isSet` asks for the answer, both cooperatively).
/// `wait(any:)` takes it on its own hub only.
public final class Event: Waitable, HubHomed {
    private var flag: Bool
    private let waiters = WaiterQueue<Void>()
    private let signals = SignalList()
    /// The hub whose thread owns the event's state.
    public let home: Hub

    /// An event, clear unless `isSet` is true, belonging to the calling
    /// thread's hub (or, inside a runtime's placement, to the hub placed on).
    public init(isSet: Bool = false) {
        flag = isSet
        home = Hub.forNewGreenlet
    }

    /// Whether the event is set.
    /// - Note: from another hub, switches (it asks the event's hub).
    public var isSet: Bool {
        if awayFromHome { return readAtHome("Event.isSet") { [self] in flag } }
        return flag
    }

    /// Sets the event and wakes every greenlet waiting for it, in the order
    /// they started waiting. Setting a set event does nothing.
    /// - Note: never switches; the waiters run when the caller next blocks or
    ///   yields. From another hub, the set travels to the event's hub (in order
    ///   with the caller's other sends there) and this returns at once.
    public func set() {
        if awayFromHome { _ = home.runThreadsafe { [self] in set() }; return }
        if flag { return }
        flag = true
        for w in waiters.popAllParked() { w.wake() }
        signals.notifyAll()
    }

    /// Clears the event: later waits block until the next `set()`.
    /// - Note: never switches.
    public func clear() {
        if awayFromHome { _ = home.runThreadsafe { [self] in clear() }; return }
        flag = false
    }

    /// Waits until the event is set.
    /// - Parameter timeout: nil waits without limit; zero only checks.
    /// - Returns: `true` when set (a waiter woken by `set()` returns `true`
    ///   even if the event was cleared again before it ran), `false` when
    ///   `timeout` elapsed first.
    /// - Throws: an error injected into the caller (kill, a started `Timeout`);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when the event is not set; from another hub, always.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        if awayFromHome {
            if timeout == .zero { return try home.callNonBlocking { [self] in flag } }
            return try home.call { [self] in try wait(timeout: timeout) }
        }
        if flag { return true }
        if timeout == .zero { return false }
        let w = Waiter<Void>(currentGreenlet)
        waiters.append(w)
        return try block(w, in: waiters, timeout: timeout)
    }

    // MARK: Waitable

    /// Signaled while set.
    public var isSignaled: Bool { flag }
    /// See `Waitable`: the event's home.
    public var waitableHome: Hub? { home }
    /// See `Waitable`.
    public func subscribe(_ signal: WaitSignal) { signals.add(signal) }
    /// See `Waitable`.
    public func unsubscribe(_ signal: WaitSignal) { signals.remove(signal) }
}
