import CLibev
import Glibc

/// A handler for a POSIX signal, run in a greenlet of its own on the hub that
/// installed it (the seeds' `gevent.signal(SIGQUIT, gevent.shutdown)`).
/// The watcher does not keep the loop alive. A signal can be watched by one
/// hub at a time. Keep the handle: dropping it (or `cancel()`) removes it.
public final class SignalHandler {
    /// The signal number watched.
    public let signal: Int32
    private let handler: () throws -> Void
    private let watcher: UnsafeMutablePointer<ev_signal>
    private unowned(unsafe) let hub: Hub
    private var active = false

    /// Starts watching `signal` on the calling thread's hub; each delivery
    /// spawns a greenlet running `handler` (named "signal-N").
    public init(_ signal: Int32, _ handler: @escaping () throws -> Void) {
        self.signal = signal
        self.handler = handler
        self.hub = Hub.current
        watcher = .allocate(capacity: 1)
        watcher.initialize(to: ev_signal())
        green_ev_signal_init(watcher, signalFired, signal)
        green_ev_set_data(watcher, Unmanaged.passUnretained(self).toOpaque())
        ev_signal_start(hub.loop, watcher)
        ev_unref(hub.loop)
        // A mask inherited from the parent (test runners block SIGTERM) would
        // keep the signal from ever arriving: unblock it on the hub's thread.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        active = true
    }

    deinit {
        cancel()
        watcher.deallocate()
    }

    /// Stops watching; the signal's previous disposition is not restored
    /// (libev leaves the handler installed).
    public func cancel() {
        guard active else { return }
        active = false
        ev_ref(hub.loop)
        ev_signal_stop(hub.loop, watcher)
    }

    fileprivate func fired() {
        let handler = self.handler
        spawn(name: "signal-\(signal)") { try handler() }
    }
}

private let signalFired: green_ev_signal_cb = { _, w, _ in
    Unmanaged<SignalHandler>.fromOpaque(green_ev_get_data(w)!).takeUnretainedValue().fired()
}

/// Runs `handler` in a new greenlet each time `signal` arrives.
/// - Returns: the handler; keep it for as long as the signal should be handled.
public func onSignal(_ signal: Int32, _ handler: @escaping () throws -> Void) -> SignalHandler {
    SignalHandler(signal, handler)
}
