/// Something a greenlet can wait on together with others, through
/// `wait(any:timeout:)`, `wait(all:timeout:)` and `iwait(_:timeout:)`
/// (gevent's `wait`/`iwait`, a little of Go's `select`).
///
/// Conforming here: `Event` (signaled when set), `AsyncResult` (when ready),
/// `Queue` and its kinds (when a get would not block: an item is there, or the
/// queue is closed), `Channel` (when a putter waits, or it is closed), and every
/// greenlet (when finished).
///
/// To conform a type of your own: report `isSignaled`, keep the signals given
/// to `subscribe` until `unsubscribe`, and call `notify()` on each when the
/// object may have become signaled (a spurious notify is harmless); give its
/// hub as `waitableHome` if its state belongs to one.
///
/// Thread-safety: a multi-wait is hub-local. `wait(any:)`, `wait(all:)` and
/// `iwait` take only objects whose `waitableHome` is the caller's hub (or
/// nil); an object of another hub (an `Event`, a queue, a greenlet placed
/// elsewhere) stops the program with a message naming both hubs. To wait
/// across hubs, wait on the object itself (`event.wait()`, `queue.get()`,
/// `greenlet.join()`, which work from any hub), or have a greenlet on the
/// object's hub forward it (e.g. `result.wait()` then set a local `Event`).
public protocol Waitable: AnyObject {
    /// Whether waiting on it now would return at once.
    var isSignaled: Bool { get }
    /// The hub whose thread owns the object's state (reads `isSignaled`,
    /// calls the signals), or nil when the object is safe to wait on from any
    /// hub. Default: nil.
    var waitableHome: Hub? { get }
    /// Starts telling `signal` when the object may have become signaled.
    /// - Note: must not switch.
    func subscribe(_ signal: WaitSignal)
    /// Stops telling `signal`. Unknown signals are ignored.
    /// - Note: must not switch.
    func unsubscribe(_ signal: WaitSignal)
}

extension Waitable {
    /// No home hub: see `Waitable.waitableHome`.
    public var waitableHome: Hub? { nil }
}

/// Stops the program when one of `objects` belongs to another hub than the caller's.
@inline(__always)
private func preconditionAllOnThisHub(_ objects: [any Waitable], _ call: StaticString) {
    for o in objects { o.waitableHome?.preconditionOnHub("\(type(of: o)) given to \(call)") }
}

/// The handle through which a `Waitable` tells a greenlet blocked in
/// `wait(any:)` or `iwait` that it may have become signaled.
public final class WaitSignal {
    let greenlet: AnyGreenlet
    /// Set while its greenlet is parked inside a multi-wait, so that a notify
    /// never wakes it from an unrelated blocking call.
    var armed = false

    init(_ greenlet: AnyGreenlet) { self.greenlet = greenlet }

    /// Wakes the waiting greenlet if it is blocked in the wait this signal
    /// belongs to; otherwise does nothing. It re-checks every object it waits
    /// on, so a spurious call is harmless.
    /// - Note: never switches; safe from hub callbacks.
    public func notify() {
        // Always the calling thread's hub: multi-waits take local objects only.
        if armed && greenlet.state == .parked { greenlet.hub.wake(greenlet) }
    }
}

/// The signals subscribed to one waitable object.
final class SignalList {
    private var signals: [WaitSignal] = []
    init() {}
    func add(_ s: WaitSignal) { signals.append(s) }
    func remove(_ s: WaitSignal) {
        if let i = signals.firstIndex(where: { $0 === s }) { signals.remove(at: i) }
    }
    @inline(__always)
    func notifyAll() {
        if signals.isEmpty { return }
        for s in signals { s.notify() }
    }
}

/// Parks for at most until `deadline` with `signal` armed.
/// - Returns: false when the deadline passed.
private func parkArmed(_ signal: WaitSignal, until deadline: ContinuousClock.Instant?) throws -> Bool {
    let left = deadline.map { max($0 - ContinuousClock.now, .zero) }
    if left == .zero { return false }
    signal.armed = true
    defer { signal.armed = false }
    return try signal.greenlet.hub.park(timeout: left)
}

/// Waits until one of `objects` is signaled and returns it (the first in the
/// list when several are), or nil when `timeout` elapses first.
///
/// ```swift
/// if let first = try wait(any: [done, results, worker], timeout: .seconds(1)) {
///     if first === done { ... }
/// }
/// ```
/// - Parameter timeout: nil waits without limit; zero only checks.
/// - Returns: nil also for an empty list.
/// - Throws: an error injected into the caller (kill, a started `Timeout`);
///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
/// - Note: switches when none is signaled yet. Hub-local: every object must
///   belong to the caller's hub (see `Waitable`).
public func wait(any objects: [any Waitable], timeout: Duration? = nil) throws -> (any Waitable)? {
    let timeout = try validated(timeout)
    preconditionAllOnThisHub(objects, "wait(any:)")
    if let o = objects.first(where: { $0.isSignaled }) { return o }
    if objects.isEmpty || timeout == .zero { return nil }
    let signal = WaitSignal(currentGreenlet)
    for o in objects { o.subscribe(signal) }
    defer { for o in objects { o.unsubscribe(signal) } }
    let deadline = timeout.map { ContinuousClock.now + $0 }
    while true {
        if try !parkArmed(signal, until: deadline) { return nil }
        if let o = objects.first(where: { $0.isSignaled }) { return o }
        // Signaled and un-signaled again before we ran (an item taken, an
        // event cleared): wait for the rest of the time.
    }
}

/// Waits until every one of `objects` has been signaled (each at least once),
/// or until `timeout` elapses; gevent's `wait(objects)`.
/// - Returns: the objects that were signaled, in the order they were seen.
/// - Throws: an error injected into the caller; `GreenError.negativeTimeout`.
/// - Note: switches. Hub-local: every object must belong to the caller's hub
///   (see `Waitable`).
@discardableResult
public func wait(all objects: [any Waitable], timeout: Duration? = nil) throws -> [any Waitable] {
    let it = try iwait(objects, timeout: timeout)
    var done: [any Waitable] = []
    while let o = try it.next() { done.append(o) }
    return done
}

/// An iterator over objects in the order they become signaled, each once,
/// ending when all were yielded or the whole iteration's `timeout` elapsed
/// (gevent's `iwait`).
///
/// ```swift
/// let it = try iwait(workers, timeout: .seconds(5))
/// while let g = try it.next() { ... }
/// ```
/// - Throws: `GreenError.negativeTimeout`.
/// - Note: does not switch; `next()` does. Hub-local: every object must
///   belong to the caller's hub, and the iterator is used there (see `Waitable`).
public func iwait(_ objects: [any Waitable], timeout: Duration? = nil) throws -> WaitIterator {
    let timeout = try validated(timeout)
    preconditionAllOnThisHub(objects, "iwait")
    return WaitIterator(objects, timeout: timeout)
}

/// Yields objects as they become signaled; see `iwait(_:timeout:)`.
/// Dropping it before the end stops its subscriptions.
///
/// Thread-safety: hub-local; `next()` from another hub or thread stops the
/// program naming both hubs.
public final class WaitIterator {
    private var pending: [any Waitable]
    private let deadline: ContinuousClock.Instant?
    private var signal: WaitSignal?
    /// The hub whose objects it waits on.
    private let hub: Hub

    init(_ objects: [any Waitable], timeout: Duration?) {
        pending = objects
        deadline = timeout.map { ContinuousClock.now + $0 }
        hub = Hub.current
    }

    deinit { finish() }

    private func finish() {
        if let signal {
            for o in pending { o.unsubscribe(signal) }
            self.signal = nil
        }
        pending = []
    }

    /// The next object to be signaled, or nil when all were yielded or time is up.
    /// - Throws: an error injected into the caller (the iteration can go on after it).
    /// - Note: switches when none is signaled yet.
    public func next() throws -> (any Waitable)? {
        hub.preconditionOnHub("an iwait iterator")
        while true {
            if let i = pending.firstIndex(where: { $0.isSignaled }) {
                let o = pending.remove(at: i)
                if let signal { o.unsubscribe(signal) }
                if pending.isEmpty { finish() }
                return o
            }
            if pending.isEmpty { return nil }
            let s: WaitSignal
            if let signal { s = signal } else {
                s = WaitSignal(currentGreenlet)
                signal = s
                for o in pending { o.subscribe(s) }
            }
            if try !parkArmed(s, until: deadline) {
                finish()
                return nil
            }
        }
    }
}

// MARK: - Greenlets are waitable

extension AnyGreenlet: Waitable {
    /// A greenlet is signaled once it has finished.
    public var isSignaled: Bool { isDead }
    /// The greenlet's hub: `wait(any:)` takes greenlets of the caller's hub only.
    public var waitableHome: Hub? { hub }

    /// Notifies `signal` when the greenlet finishes.
    public func subscribe(_ signal: WaitSignal) {
        if isDead { return }
        waitSubscriptions[ObjectIdentifier(signal)] = link { [weak signal] _ in signal?.notify() }
    }

    /// Stops notifying `signal`: removes its link callback.
    public func unsubscribe(_ signal: WaitSignal) {
        if let token = waitSubscriptions.removeValue(forKey: ObjectIdentifier(signal)) { unlink(token) }
    }
}
