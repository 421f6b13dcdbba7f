import Atomics
import CLibev
import Glibc

/// Work another thread hands to a hub: `run()` is called once on the hub's
/// thread, on the hub greenlet (so it must not block).
///
/// Subclass it for work sent over and over (an actor's remote-inbox drain keeps
/// one for life, so scheduling it allocates nothing); closures use `runThreadsafe`.
/// A job may be submitted again only after its `run()` has begun, and that
/// start must happen before the new submit (e.g. `run()` releases a flag the
/// submitter acquires): the hub clears the job's link just before `run()`.
open class ThreadsafeJob: @unchecked Sendable {
    /// Link in the entry's stack (the next job's bits, 0 at the end); written
    /// by the submitter before its CAS publishes it.
    fileprivate var next: UInt = 0
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
/// stack of jobs, a "may be asleep" flag, and an `ev_async` watcher to wake
/// the loop when it may be asleep in `epoll`.
///
/// - Producers (any thread) push with a CAS loop (sequentially consistent, so
///   also a release: a job's fields, and whatever it captured, are visible to
///   the hub once it sees the job).
/// - The consumer (the hub's thread only) takes the whole stack with one
///   acquiring exchange and runs it reversed, so each producer's jobs run in
///   the order it submitted them. The hub looks at the stack on every pass of
///   its loop, while it spins, and just before it sleeps.
/// - A submit costs one CAS and one load on one cache line (`Shared`), which
///   nothing else shares: no lock, and no libev call while the hub is awake
///   (`ev_async_send` writes several of the loop's own fields and fences twice).
///
/// No lost wake-up (a Dekker pair, both sides sequentially consistent):
/// the hub, before it may block in `epoll`, stores `sleeping = 1` and then
/// loads `head`; if anything is queued it does not sleep but drains. A
/// submitter pushes (an RMW on `head`) and then loads `sleeping`; if set, it
/// calls `ev_async_send`. In the single total order of these four operations,
/// either the hub's store comes before the submitter's load (the submitter
/// sees 1 and sends the async, which libev delivers even if the loop has not
/// reached `epoll` yet), or the submitter's push comes before the hub's load
/// (the hub sees the job and does not sleep). The hub clears the flag
/// (relaxed) when `ev_run` returns; a submitter that still sees 1 then only
/// sends a spare async. On x86 the submitter's side costs nothing extra (a
/// locked CAS and a plain load); the hub pays one `xchg` per sleep.
///
/// Close without a lock: `detach()` exchanges `head` for the `closed` mark and
/// keeps what it took. A push is a CAS from the value it saw: it fails against
/// the mark, and a submitter that sees the mark refuses (returns false, does
/// not run the job). So every push that succeeded is before the exchange in
/// `head`'s modification order: it was taken by an earlier drain or by the
/// exchange itself, and the hub runs it (`drainNow` after `detach`, on its own
/// thread, as that thread ends). `true` from `submit` means "will run", `false`
/// means "will never run". The only step that needs the loop to exist, the
/// wake-up `ev_async_send`, runs under `lock`, and `detach` clears `loop`
/// under the same lock before the loop is destroyed (the sleeping path is a
/// syscall anyway; the awake path never takes the lock).
///
/// The watcher is unreferenced: it does not keep the loop alive by itself.
final class ThreadsafeEntry: @unchecked Sendable {
    /// What submitters and the hub both touch, alone on one cache line: `head`
    /// (the stack: an `Unmanaged<ThreadsafeJob>`'s bits, 0 when empty, `closed`
    /// after `detach`) and `sleeping` (1 while the hub may block in `epoll`).
    /// One line: a submitter's CAS brings the line over and its load of
    /// `sleeping` then costs nothing; the hub writes `sleeping` only around a sleep.
    private let shared: UnsafeMutableRawPointer
    private var head: UnsafeAtomic<UInt> { UnsafeAtomic(at: shared.assumingMemoryBound(to: UnsafeAtomic<UInt>.Storage.self)) }
    private var sleeping: UnsafeAtomic<Int> {
        UnsafeAtomic(at: (shared + 8).assumingMemoryBound(to: UnsafeAtomic<Int>.Storage.self))
    }
    /// The mark `detach` leaves in `head` (never an object's address: odd).
    private static let closed: UInt = 1

    /// Hub-thread state, on a line of its own (submitters never touch it):
    /// jobs run so far.
    private let hubSide: UnsafeMutablePointer<Int>

    private let watcher: UnsafeMutablePointer<ev_async>
    /// Guards `loop` between a waking submitter and `detach` (slow path only).
    private var lock = pthread_mutex_t()
    private var loop: OpaquePointer?
    /// What `detach` took from the stack; run by the next `drainNow` (hub thread).
    private var leftovers: UInt = 0

    init() {
        shared = .allocate(byteCount: 64, alignment: 64)
        shared.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        shared.bindMemory(to: UnsafeAtomic<UInt>.Storage.self, capacity: 2)
        hubSide = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            .bindMemory(to: Int.self, capacity: 8)
        hubSide.initialize(to: 0)
        watcher = .allocate(capacity: 1)
        watcher.initialize(to: ev_async())
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        var n = head.exchange(0, ordering: .acquiring)
        if n == ThreadsafeEntry.closed { n = 0 }
        if leftovers != 0 { n = leftovers }
        ThreadsafeEntry.releaseAll(n)
        shared.deallocate()
        hubSide.deallocate()
        watcher.deallocate()
        pthread_mutex_destroy(&lock)
    }

    private static func releaseAll(_ bits: UInt) {
        var n = bits
        while n != 0 {
            let cur = Unmanaged<ThreadsafeJob>.fromOpaque(UnsafeRawPointer(bitPattern: n)!)
            n = cur.takeUnretainedValue().next
            cur.release()
        }
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

    /// Hub thread, once, as the hub closes: from now on `submit` refuses.
    /// What was accepted before runs at the next `drainNow`.
    func detach() {
        // Acquiring: what pushes published before the mark is taken. Releasing:
        // a submitter refused by the mark (it reads it with acquire) sees every
        // write this thread made before it closed, so a read of the "frozen"
        // state of an object whose home has ended (`readAtHome`) is ordered.
        let rest = head.exchange(ThreadsafeEntry.closed, ordering: .acquiringAndReleasing)
        if rest != ThreadsafeEntry.closed { leftovers = rest }
        pthread_mutex_lock(&lock)
        if let loop {
            ev_ref(loop)
            ev_async_stop(loop, watcher)
        }
        loop = nil
        pthread_mutex_unlock(&lock)
    }

    /// Any thread: queues `job` and, if the hub may be asleep, wakes it.
    /// Returns false, and drops `job` (it never runs), once the hub is closing or gone.
    func submit(_ job: ThreadsafeJob) -> Bool {
        // Acquiring (a plain load on x86): a refusal is ordered after the
        // hub's close (see `detach`).
        var current = head.load(ordering: .acquiring)
        if current == ThreadsafeEntry.closed { return false }
        let node = Unmanaged.passRetained(job)
        let bits = UInt(bitPattern: node.toOpaque())
        while true {
            job.next = current
            // Sequentially consistent: the submitter's half of the Dekker pair
            // (see the type's comment), and a release for the job's fields.
            let (done, seen) = head.weakCompareExchange(
                expected: current, desired: bits, successOrdering: .sequentiallyConsistent, failureOrdering: .acquiring)
            if done { break }
            if seen == ThreadsafeEntry.closed {
                job.next = 0
                node.release()
                return false
            }
            current = seen
        }
        if sleeping.load(ordering: .sequentiallyConsistent) != 0 { wakeHub() }
        return true
    }

    /// The hub may be asleep in `epoll`: `ev_async_send`, unless it has closed
    /// (then it is not asleep, and drains what it accepted as it ends).
    @inline(never)
    private func wakeHub() {
        pthread_mutex_lock(&lock)
        if let loop { ev_async_send(loop, watcher) }
        pthread_mutex_unlock(&lock)
    }

    /// Hub thread, just before it may block in `epoll`: publishes "may be
    /// asleep" and re-checks the stack (the hub's half of the Dekker pair).
    /// Returns false, with the flag cleared, when work is queued: then the
    /// hub must drain instead of sleeping. After a true, call `awake()` once
    /// `ev_run` returns.
    func prepareToSleep() -> Bool {
        sleeping.store(1, ordering: .sequentiallyConsistent)
        let h = head.load(ordering: .sequentiallyConsistent)
        if h != 0 && h != ThreadsafeEntry.closed {
            sleeping.store(0, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Hub thread: back from `ev_run`; submitters stop sending wake-ups.
    /// Relaxed: a submitter that still sees the flag sends a spare `ev_async`.
    func awake() {
        sleeping.store(0, ordering: .relaxed)
    }

    /// Jobs run so far (hub thread only): a hub that ran remote work recently
    /// is "in a conversation" and may spin for the answer.
    var jobsRun: Int { hubSide.pointee }

    /// Whether work is queued (a relaxed load: a hint; hub thread).
    var hasWork: Bool {
        let h = head.load(ordering: .relaxed)
        return h != 0 && h != ThreadsafeEntry.closed
    }

    /// Hub thread: runs everything submitted so far, oldest first per producer.
    func drainNow() {
        var top: UInt
        if leftovers != 0 {
            top = leftovers
            leftovers = 0
        } else {
            // Only this thread writes 0 or the mark, so a load that sees
            // neither is followed by an exchange that sees neither (and after
            // `detach` the mark stays: what was accepted is in `leftovers`).
            let h = head.load(ordering: .relaxed)
            if h == 0 || h == ThreadsafeEntry.closed { return }
            top = head.exchange(0, ordering: .acquiring)
        }
        var reversed: UInt = 0
        var n = top
        while n != 0 {
            let job = Unmanaged<ThreadsafeJob>.fromOpaque(UnsafeRawPointer(bitPattern: n)!).takeUnretainedValue()
            let following = job.next
            job.next = reversed
            reversed = n
            n = following
        }
        while reversed != 0 {
            let job = Unmanaged<ThreadsafeJob>.fromOpaque(UnsafeRawPointer(bitPattern: reversed)!).takeRetainedValue()
            reversed = job.next
            job.next = 0
            hubSide.pointee &+= 1
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
