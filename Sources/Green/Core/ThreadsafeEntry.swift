import Atomics
import CLibev
import Glibc

/// Work another thread hands to a hub: `run()` is called once on the hub's
/// thread, on the hub greenlet (so it must not block).
///
/// Subclass it for work sent over and over (an actor's remote-inbox drain keeps
/// one for life, so scheduling it allocates nothing); closures use `runThreadsafe`.
/// A job may be submitted again only after its `run()` has begun.
open class ThreadsafeJob: @unchecked Sendable {
    /// Link in the entry's stack; written by the submitter before its CAS publishes it.
    fileprivate var next: Unmanaged<ThreadsafeJob>?
    public init() {}
    /// The work. Runs on the hub's thread; must not block.
    open func run() {}
}

private final class ClosureJob: ThreadsafeJob, @unchecked Sendable {
    let work: () -> Void
    init(_ work: @escaping () -> Void) { self.work = work }
    override func run() { work() }
}

/// The one door into a hub from other OS threads: a lock-free multi-producer
/// stack of jobs and an `ev_async` watcher to wake the loop.
///
/// - Producers (any thread) push with a CAS loop; the CAS uses release
///   ordering, so a job's fields (and whatever it captured) are visible to the
///   hub once it sees the job.
/// - The consumer (the hub's thread only) takes the whole stack with one
///   acquiring exchange and runs it reversed, so each producer's jobs run in
///   the order it submitted them.
/// - `ev_async_send` coalesces, and writes the loop's wake-up pipe only when
///   the loop is about to sleep: a busy (or spinning) hub gets no syscall.
/// - The mutex guards `loop` against a submit racing the hub's close; after
///   close, submit refuses (returns false) and the job is not run.
///
/// The watcher is unreferenced: it does not keep the loop alive by itself.
///
/// Accepted work always runs: `submit` pushes only while the entry is
/// attached (checked under `lock`), and the hub's `close()` detaches it (from
/// then on `submit` refuses) and then drains what was pushed before, on its
/// own thread, as that thread ends. So `true` from `submit` means "will run"
/// and `false` means "will never run".
final class ThreadsafeEntry: @unchecked Sendable {
    private let head = ManagedAtomic<Unmanaged<ThreadsafeJob>?>(nil)
    private let watcher: UnsafeMutablePointer<ev_async>
    private var lock = pthread_mutex_t()
    private var loop: OpaquePointer?

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

    /// Any thread: queues `job` and wakes the hub. Returns false, and drops
    /// `job`, once the hub is closing or gone.
    func submit(_ job: ThreadsafeJob) -> Bool {
        // Under the lock, so that close() cannot detach between the check and
        // the push (work pushed after the hub's last drain would never run).
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard let loop else { return false }
        let node = Unmanaged.passRetained(job)
        var current = head.load(ordering: .relaxed)
        while true {
            job.next = current
            let (done, seen) = head.weakCompareExchange(
                expected: current, desired: node, successOrdering: .releasing, failureOrdering: .relaxed)
            if done { break }
            current = seen
        }
        ev_async_send(loop, watcher)
        return true
    }

    /// Jobs run so far (hub thread only): a hub that ran remote work recently
    /// is "in a conversation" and may spin for the answer.
    private(set) var jobsRun = 0

    /// Whether work is queued (a relaxed load: a hint for spinning hubs).
    var hasWork: Bool { head.load(ordering: .relaxed) != nil }

    /// Hub thread: runs everything submitted so far, oldest first per producer.
    func drainNow() {
        guard let top = head.exchange(nil, ordering: .acquiring) else { return }
        var reversed: Unmanaged<ThreadsafeJob>? = nil
        var n: Unmanaged<ThreadsafeJob>? = top
        while let cur = n {
            let job = cur.takeUnretainedValue()
            n = job.next
            job.next = reversed
            reversed = cur
        }
        while let cur = reversed {
            let job = cur.takeRetainedValue()
            reversed = job.next
            job.next = nil
            jobsRun &+= 1
            job.run()
        }
    }
}

private let threadsafeWake: green_ev_async_cb = { _, w, _ in
    let entry = Unmanaged<ThreadsafeEntry>.fromOpaque(green_ev_get_data(w)!).takeUnretainedValue()
    entry.drainNow()
}

extension Hub {
    /// From any thread: runs `work` on this hub, on the hub greenlet (so it
    /// must not block; spawn a greenlet from it for blocking work). Work from
    /// one thread runs in the order it was submitted.
    ///
    /// Work accepted is always run: if the hub's thread ends before its loop
    /// gets to it, the hub runs it as the thread ends (no greenlet runs after
    /// that, so work that only wakes or spawns greenlets has no effect then).
    /// - Returns: true when `work` will run; false when the hub's thread has
    ///   ended (or is ending) and `work` was dropped.
    /// - Note: never switches. Any thread.
    @discardableResult
    public func runThreadsafe(_ work: @escaping @Sendable () -> Void) -> Bool {
        threadsafe.submit(ClosureJob(work))
    }

    /// From any thread: runs `job.run()` on this hub (see `ThreadsafeJob`).
    /// - Returns: false when the hub's thread has ended and the job was dropped.
    /// - Note: never switches. Any thread.
    @discardableResult
    public func submit(_ job: ThreadsafeJob) -> Bool {
        threadsafe.submit(job)
    }
}
