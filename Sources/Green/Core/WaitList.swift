import DequeModule

/// A FIFO of greenlets parked until something happens: the building block of
/// join, events, queues and locks.
///
/// A class with non-mutating methods on purpose: a greenlet parks *inside*
/// `wait`, and parking inside a `mutating` access would hold an exclusive
/// access across a switch.
///
/// Invariant: an entry is removed by the waker that wakes it, or by the waiter
/// itself when it times out or is killed, so entries never go stale.
///
/// Thread-safety: hub-local. A list belongs to the hub of the first greenlet
/// that waits on it; waiting on it or waking it from another hub or thread
/// stops the program with a message naming both hubs.
public final class WaitList {
    @exclusivity(unchecked)
    private var waiters = Deque<AnyGreenlet>()
    @exclusivity(unchecked)
    private var owner = FirstUseHub()

    /// An empty list.
    public init() {}

    /// Whether no greenlet waits.
    public var isEmpty: Bool { waiters.isEmpty }
    /// How many greenlets wait.
    public var count: Int { waiters.count }

    /// Parks the running greenlet at the tail until woken.
    /// - Returns: `true` when woken, `false` when `timeout` elapsed (or was zero).
    /// - Throws: an injected error (kill, a started `Timeout`), after leaving the list.
    /// - Note: switches.
    public func wait(timeout: Duration? = nil) throws -> Bool {
        owner.check("a WaitList")
        // +0 hub and greenlet: the running greenlet is kept by its self-retain
        // (a root by its hub), its hub by its thread; only the entry in
        // `waiters` holds a reference of its own.
        let hub = Hub.currentUnretained
        let me = hub._withUnsafeGuaranteedRef { Unmanaged.passUnretained($0.current) }
        if let t = timeout, t <= .zero {
            try me._withUnsafeGuaranteedRef { try $0.throwPendingError() }
            return false
        }
        waiters.append(me.takeUnretainedValue())
        do {
            if try hub._withUnsafeGuaranteedRef({ try $0.park(timeout: timeout) }) { return true }
            me._withUnsafeGuaranteedRef { remove($0) }
            return false
        } catch {
            me._withUnsafeGuaranteedRef { remove($0) }
            throw error
        }
    }

    private func remove(_ g: AnyGreenlet) {
        if let i = waiters.firstIndex(where: { $0 === g }) { waiters.remove(at: i) }
    }

    /// Wakes the longest-waiting greenlet and returns it (nil if none waits).
    /// - Note: does not switch.
    @discardableResult
    public func wakeOne() -> AnyGreenlet? {
        owner.checkIfBound("a WaitList")
        while let g = waiters.popFirst() {
            if g.state == .parked {
                g.hub.wake(g)
                return g
            }
        }
        return nil
    }

    /// Wakes every waiting greenlet, in FIFO order.
    /// - Note: does not switch.
    public func wakeAll() {
        owner.checkIfBound("a WaitList")
        // Waking runs nothing (the woken run later), so the list is read in
        // place, without a copy; each greenlet is kept by its entry meanwhile.
        for g in waiters { g.unretainedHub._withUnsafeGuaranteedRef { $0.wake(g) } }
        waiters.removeAll()
    }
}
