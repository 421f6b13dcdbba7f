import DequeModule

// The machinery every coordination primitive blocks and wakes through.
//
// Design (hand-off, not "wake and re-check"):
// - A greenlet that must block appends a `Waiter` record to one of the
//   primitive's `WaiterQueue`s and parks in `block(_:in:timeout:)`.
// - A waker pops the longest-waiting *parked* waiter (`popParked`), completes
//   the operation on its behalf (hands it an item, takes its item, grants it a
//   permit) and marks it `served`, then wakes it. Entries whose greenlet is no
//   longer parked (it timed out or was killed and has not run yet) are dropped:
//   they will see they were not served and leave on their own.
// - A greenlet that was served and then killed before it ran still returns
//   normally from `Hub.park` (the kill is thrown at its next blocking call), so
//   what was handed to it is never lost and never handed twice; one killed or
//   timed out while parked was not served, so nothing was handed to it.
// - Every primitive is a class whose blocking methods are non-mutating and
//   touch stored properties only in short accesses, never across a park.
//
// Across hubs (see CrossHubOperations.swift and Core/CrossHub.swift): there
// are no cross-thread wake-ups here, by design. A primitive's state, its
// waiter queues and every greenlet in them belong to its home hub; a caller on
// another hub is represented at home by a proxy greenlet (`Hub.call`) that
// waits here like any local waiter, and the caller is woken on its own hub
// when the proxy's answer arrives there through that hub's thread-safe entry.
// So `Waiter.wake()` and `WaitSignal.notify()` always wake a greenlet of the
// calling thread's hub, and no state here needs a lock.

/// One greenlet blocked in a coordination primitive, with what it hands over
/// (a putter's item) or receives (a getter's item).
final class Waiter<Payload> {
    enum Outcome { case waiting, served, closed }

    let greenlet: AnyGreenlet
    var payload: Payload?
    var outcome: Outcome = .waiting

    init(_ greenlet: AnyGreenlet, payload: Payload? = nil) {
        self.greenlet = greenlet
        self.payload = payload
    }

    /// Marks the waiter served (or refused because the primitive closed) and
    /// wakes it. Call only on a waiter returned by `popParked`, on the
    /// primitive's home hub (the waiter's greenlet always belongs to it).
    @inline(__always)
    func wake(_ outcome: Outcome = .served) {
        self.outcome = outcome
        greenlet.hub.wake(greenlet)
    }
}

/// A FIFO of waiters. Non-mutating methods only (see the file header).
final class WaiterQueue<Payload> {
    private var entries = Deque<Waiter<Payload>>()

    init() {}

    func append(_ w: Waiter<Payload>) { entries.append(w) }

    /// Removes `w` if it is still queued (a waiter that timed out or was killed).
    func remove(_ w: Waiter<Payload>) {
        if let i = entries.firstIndex(where: { $0 === w }) { entries.remove(at: i) }
    }

    /// Pops the longest-waiting waiter whose greenlet is parked, dropping
    /// stale entries (timed out or killed, not yet run) on the way.
    func popParked() -> Waiter<Payload>? {
        while let w = entries.popFirst() {
            if w.greenlet.state == .parked && w.outcome == .waiting { return w }
        }
        return nil
    }

    /// The longest-waiting parked waiter, left in place (stale entries are dropped).
    func firstParked() -> Waiter<Payload>? {
        while let w = entries.first {
            if w.greenlet.state == .parked && w.outcome == .waiting { return w }
            entries.removeFirst()
        }
        return nil
    }

    /// How many waiters are parked.
    var parkedCount: Int {
        entries.reduce(0) { $0 + ($1.greenlet.state == .parked && $1.outcome == .waiting ? 1 : 0) }
    }

    /// Whether some waiter is parked.
    var hasParked: Bool { firstParked() != nil }

    /// Pops every parked waiter, in FIFO order.
    func popAllParked() -> [Waiter<Payload>] {
        var out: [Waiter<Payload>] = []
        while let w = popParked() { out.append(w) }
        return out
    }
}

/// Parks the running greenlet, already queued as `w` in `queue`, until a
/// waker serves it, `timeout` elapses, or an error is injected.
///
/// - Returns: `true` when served or refused (see `w.outcome`), `false` when the
///   timeout elapsed (the waiter has left the queue).
/// - Throws: an injected error (kill, a started `Timeout`), after leaving the
///   queue; `GreenError.wouldBlockForever`.
/// - Note: switches.
func block<P>(_ w: Waiter<P>, in queue: WaiterQueue<P>, timeout: Duration?) throws -> Bool {
    let hub = w.greenlet.hub!
    let deadline = timeout.map { ContinuousClock.now + $0 }
    while true {
        let left = deadline.map { max($0 - ContinuousClock.now, .zero) }
        let woken: Bool
        do {
            woken = try hub.park(timeout: left)
        } catch {
            if w.outcome != .waiting {
                // Served, yet an error arrived: keep what was handed over and
                // let the error surface at the next blocking call.
                w.greenlet.reinject(error)
                return true
            }
            queue.remove(w)
            throw error
        }
        if w.outcome != .waiting { return true }
        if !woken {
            queue.remove(w)
            return false
        }
        // Woken by something other than this primitive: wait again.
    }
}

/// Parks the running greenlet as a getter at the tail of `getters` until a
/// putter hands it an item (the getter side of Queue and Channel).
/// - Throws: `QueueError.closed` when the source closes meanwhile;
///   `QueueError.empty` when `timeout` elapses; an injected error.
/// - Note: switches.
func awaitHandedItem<Element>(from getters: WaiterQueue<Element>, timeout: Duration?) throws -> Element {
    let w = Waiter<Element>(currentGreenlet)
    getters.append(w)
    if try block(w, in: getters, timeout: timeout) {
        if w.outcome == .closed { throw QueueError.closed }
        let item = w.payload!
        w.payload = nil
        return item
    }
    throw QueueError.empty
}

/// The greenlet running on this thread.
@inline(__always)
var currentGreenlet: AnyGreenlet { Hub.current.current }

/// Ends a non-throwing iteration on an error (a kill, a `Timeout`): the error
/// is injected again so that the greenlet's next blocking call throws it.
func reinjectForNextBlockingCall(_ error: any Error) {
    currentGreenlet.reinject(error)
}
