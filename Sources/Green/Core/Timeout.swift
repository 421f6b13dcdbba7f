import CLibev

/// A limit on how long a greenlet may block: gevent's `Timeout`.
///
/// Started, it raises itself in the greenlet that started it at that
/// greenlet's blocking call when the time is up; each instance is distinct, so
/// nested timeouts are told apart by identity (`catch let t as Timeout where t === mine`).
/// Blocking calls given `timeout:` throw a fresh `Timeout` of their own.
public final class Timeout: Error, CustomStringConvertible, @unchecked Sendable {
    /// The time limit.
    public let duration: Duration
    private var watcher: UnsafeMutablePointer<ev_timer>?
    // Strong: cancel() clears it. (A weak one would slow every retain of the greenlet.)
    private var target: AnyGreenlet?
    /// The hub whose loop runs the watcher, held while started: a timeout kept
    /// past the end of its thread must see that the loop is gone, not touch it.
    private var hub: Hub?
    /// Its rank among the timeouts of its greenlet, by start: a smaller one is
    /// an outer timeout, raised first when both are due (the injection rule).
    private(set) var serial: UInt64 = 0

    /// A timeout of `duration`, not started.
    public init(_ duration: Duration) { self.duration = duration }

    deinit {
        cancel()
        watcher?.deallocate()
    }

    public var description: String { "Timeout(\(duration))" }

    /// Starts the countdown for the running greenlet, from now.
    ///
    /// When it expires while a kill or an outer timeout (one started before it,
    /// still pending) also waits to be thrown, those go first: a kill beats a
    /// timeout, an outer timeout beats an inner one (see `AnyGreenlet.kill`).
    /// - Throws: `negativeTimeout` for a negative duration.
    /// - Note: does not switch. Call it from the greenlet it limits.
    public func start() throws {
        _ = try validated(duration)
        cancel()
        let hub = Hub.current
        let g = hub.current
        target = g
        self.hub = hub
        g.timeoutsStarted &+= 1
        serial = g.timeoutsStarted
        let w: UnsafeMutablePointer<ev_timer>
        if let watcher { w = watcher } else {
            w = .allocate(capacity: 1)
            w.initialize(to: ev_timer())
            green_ev_timer_init(w, timeoutFired, 0, 0)
            watcher = w
        }
        green_ev_set_data(w, Unmanaged.passUnretained(self).toOpaque())
        // libev's clock is cached since the last poll, which may be long ago
        // after CPU work: measure from now, as AnyGreenlet.startTimer does.
        ev_now_update(hub.loop)
        green_ev_timer_set(w, duration.greenSeconds, 0)
        ev_timer_start(hub.loop, w)
    }

    /// A new timeout, already started.
    /// - Throws: `negativeTimeout` for a negative duration.
    public static func start(_ duration: Duration) throws -> Timeout {
        let t = Timeout(duration)
        try t.start()
        return t
    }

    /// Whether it is counting down.
    public var isPending: Bool {
        guard let watcher, let hub, !hub.isClosed else { return false }
        return green_ev_is_active(watcher) != 0
    }

    /// Stops the countdown; if it fired but was not raised yet, it never will
    /// be. It withdraws only itself: a kill or another timeout waiting to be
    /// thrown in the same greenlet stays. (Cancelled from another greenlet
    /// after it woke its greenlet from a blocking call, it is still thrown
    /// there: that call has nothing else to return.)
    /// - Note: does not switch.
    public func cancel() {
        guard let watcher, let g = target, let hub else { return }
        target = nil
        self.hub = nil
        // After its thread ended, the loop is destroyed and the greenlet will
        // never run again: nothing to stop, nothing to withdraw.
        if hub.isClosed { return }
        hub.preconditionOnHub("a started Timeout")
        if green_ev_is_active(watcher) != 0 { ev_timer_stop(hub.loop, watcher) }
        g.withdraw(self)
    }

    fileprivate func fire() {
        guard let g = target, g.state != .dead else { return }
        g.interrupt(with: self)
    }
}

private let timeoutFired: green_ev_timer_cb = { _, w, _ in
    let t = Unmanaged<Timeout>.fromOpaque(green_ev_get_data(w)!).takeUnretainedValue()
    t.fire()
}

/// Runs `body`, throwing a `Timeout` if it is still blocked after `duration`
/// (gevent's `with Timeout(...)`). The `Timeout` thrown is this call's own.
/// - Throws: the `Timeout`; whatever `body` throws; `negativeTimeout`.
/// - Note: switches whenever `body` does.
public func withTimeout<T>(_ duration: Duration, _ body: () throws -> T) throws -> T {
    let t = Timeout(duration)
    try t.start()
    defer { t.cancel() }
    return try body()
}

/// Like `withTimeout(_:_:)`, but returns `fallback` when the time runs out
/// (gevent's `with_timeout(..., timeout_value=)`).
/// - Throws: whatever `body` throws, except this call's own `Timeout`.
public func withTimeout<T>(_ duration: Duration, fallback: T, _ body: () throws -> T) throws -> T {
    let t = Timeout(duration)
    try t.start()
    defer { t.cancel() }
    do {
        return try body()
    } catch let e as Timeout where e === t {
        return fallback
    }
}
