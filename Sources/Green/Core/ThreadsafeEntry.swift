import Atomics
import CLibev
import Glibc

/// The one door into a hub from other OS threads: a lock-free multi-producer
/// queue of closures (a Treiber stack the hub drains whole and reverses, so
/// order is kept) and an `ev_async` watcher to wake the loop. `ev_async_send`
/// coalesces, so one wake-up may bring many closures.
///
/// The watcher is unreferenced: it does not keep the loop alive by itself.
///
/// Accepted work always runs: `submit` pushes only while the entry is
/// attached (checked under `lock`), and the hub's `close()` detaches it (from
/// then on `submit` refuses) and then drains what was pushed before, on its
/// own thread, as that thread ends. So `true` from `submit` means "will run"
/// and `false` means "will never run".
final class ThreadsafeEntry: @unchecked Sendable {
    private final class Node {
        let work: () -> Void
        var next: Unmanaged<Node>?
        init(_ work: @escaping () -> Void) { self.work = work }
    }

    private let head = ManagedAtomic<Unmanaged<Node>?>(nil)
    private let watcher: UnsafeMutablePointer<ev_async>
    /// Guards `loop` against a send racing the hub's close.
    private var lock = pthread_mutex_t()
    private var loop: OpaquePointer?
    // Unowned: the hub detaches this entry in close() before it goes away, and a
    // weak reference would give the hub a side table (slow retain/release everywhere).
    private unowned(unsafe) var hub: Hub?

    init() {
        watcher = .allocate(capacity: 1)
        watcher.initialize(to: ev_async())
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        var n = head.exchange(nil, ordering: .acquiring)
        while let cur = n {
            n = cur.takeUnretainedValue().next
            cur.release()
        }
        watcher.deallocate()
        pthread_mutex_destroy(&lock)
    }

    func attach(to hub: Hub) {
        self.hub = hub
        green_ev_async_init(watcher, threadsafeWake)
        green_ev_set_data(watcher, Unmanaged.passUnretained(self).toOpaque())
        ev_async_start(hub.loop, watcher)
        ev_unref(hub.loop)
        pthread_mutex_lock(&lock)
        loop = hub.loop
        pthread_mutex_unlock(&lock)
    }

    func detach() {
        pthread_mutex_lock(&lock)
        if let loop {
            ev_ref(loop)
            ev_async_stop(loop, watcher)
        }
        loop = nil
        pthread_mutex_unlock(&lock)
    }

    /// Any thread: queues `work` and wakes the hub. Returns false, and drops
    /// `work`, once the hub is closing or gone.
    func submit(_ work: @escaping () -> Void) -> Bool {
        // Under the lock, so that close() cannot detach between the check and
        // the push (work pushed after the hub's last drain would never run).
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard let loop else { return false }
        let node = Unmanaged.passRetained(Node(work))
        var current = head.load(ordering: .relaxed)
        while true {
            node.takeUnretainedValue().next = current
            let (done, seen) = head.compareExchange(expected: current, desired: node, ordering: .releasing)
            if done { break }
            current = seen
        }
        ev_async_send(loop, watcher)
        return true
    }

    /// Hub thread: queues everything pushed so far on the hub's callbacks,
    /// oldest first.
    func drain() {
        guard let top = head.exchange(nil, ordering: .acquiring) else { return }
        var items: [() -> Void] = []
        var node: Unmanaged<Node>? = top
        while let n = node {
            let value = n.takeRetainedValue()
            items.append(value.work)
            node = value.next
        }
        for work in items.reversed() { hub?.runCallback(work) }
    }
}

private let threadsafeWake: green_ev_async_cb = { _, w, _ in
    let entry = Unmanaged<ThreadsafeEntry>.fromOpaque(green_ev_get_data(w)!).takeUnretainedValue()
    entry.drain()
}

extension Hub {
    /// From any thread: runs `work` on this hub, on the hub greenlet (so it
    /// must not block; spawn a greenlet from it for blocking work).
    ///
    /// Work accepted is always run: if the hub's thread ends before its loop
    /// gets to it, the hub runs it as the thread ends (no greenlet runs after
    /// that, so work that only wakes or spawns greenlets has no effect then).
    /// - Returns: true when `work` will run; false when the hub's thread has
    ///   ended (or is ending) and `work` was dropped.
    /// - Note: never switches; may be called from any thread.
    @discardableResult
    public func runThreadsafe(_ work: @escaping @Sendable () -> Void) -> Bool {
        threadsafe.submit(work)
    }
}
