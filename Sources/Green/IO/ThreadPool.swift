import CLibev
import Glibc

/// OS threads for calls that would block the whole hub: gevent's threadpool.
///
/// `run { ... }` hands the closure to a worker thread and parks the calling
/// greenlet; the other greenlets of its hub keep running. When the closure
/// returns, the worker wakes the greenlet through `Hub.runThreadsafe`. This is
/// the answer to "blocking C code halts everything": `getaddrinfo`, file
/// system calls, a C library that blocks.
///
/// While a job is in flight the pool holds a reference on the hub's libev loop
/// (`ev_ref`), so a hub whose only work is a pool job does not report
/// `wouldBlockForever`.
///
/// Threads start lazily, up to `maxThreads`, and stay for reuse; jobs beyond
/// that wait in a FIFO. Thread-safe: any number of hubs may share a pool.
public final class ThreadPool: @unchecked Sendable {
    /// The process-wide pool (10 threads, as gevent's default) that `Resolver` uses.
    public static let shared = ThreadPool(maxThreads: 10)

    /// The most worker threads this pool starts.
    public let maxThreads: Int
    private let state: PoolState

    /// A pool of at most `maxThreads` threads (at least 1), none started yet.
    public init(maxThreads: Int) {
        self.maxThreads = max(1, maxThreads)
        state = PoolState(maxThreads: self.maxThreads)
    }

    deinit { state.shutdown() }

    /// Worker threads started and not ended.
    public var threadCount: Int { state.locked { state.threads } }

    /// Runs `work` on a worker thread and waits, cooperatively, for its result.
    ///
    /// `work` runs on another OS thread: it must not touch greenlets, hubs or
    /// sockets, nor anything else of the caller's thread without its own locking.
    /// When the caller stops waiting (timeout, kill), `work` still runs to its
    /// end on its thread (a thread cannot be interrupted); its result is dropped.
    /// - Returns: what `work` returned.
    /// - Throws: what `work` threw; `SocketError.timedOut` when `timeout`
    ///   elapses first; `ThreadPoolError.shutDown`; errors injected into the caller.
    /// - Note: switches.
    public func run<T>(timeout: Duration? = nil, _ work: @escaping () throws -> T) throws -> T {
        let timeout = try validated(timeout)
        let hub = Hub.current
        let me = hub.current
        if me === hub.hubGreenlet { throw GreenError.blockingInHub }
        try me.throwPendingError()
        let job = PoolJob<T>(work)
        job.waiter = me
        nonisolated(unsafe) let loop = hub.loop
        // Keep the loop alive while the job is out; balanced on the hub when it comes back.
        ev_ref(loop)
        let accepted = state.submit {
            job.execute()
            // If the hub's thread has ended, nobody waits: dropping it is right.
            hub.runThreadsafe {
                ev_unref(loop)
                job.isDone = true
                if let w = job.waiter {
                    job.waiter = nil
                    hub.wake(w)
                }
            }
        }
        guard accepted else {
            ev_unref(loop)
            throw ThreadPoolError.shutDown
        }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        defer { job.waiter = nil }
        while !job.isDone {
            var left: Duration? = nil
            if let deadline {
                left = deadline - ContinuousClock.now
                if left! <= .zero { throw SocketError.timedOut }
            }
            job.waiter = me
            if try !hub.park(timeout: left) { throw SocketError.timedOut }
        }
        return try job.result!.get()
    }

    /// Lets the worker threads end once the queued jobs are done; later `run`
    /// calls throw `ThreadPoolError.shutDown`.
    /// - Note: never switches.
    public func shutdown() { state.shutdown() }
}

/// Errors of `ThreadPool`.
public enum ThreadPoolError: Error, Equatable {
    /// The pool was shut down.
    case shutDown
}

/// A job's result, written by the worker and read on the hub only once
/// `isDone` is set, by the closure the worker sends through `runThreadsafe`
/// (whose lock and release/acquire queue order the write before the read).
/// The hub must not look at `result` before: the worker may be writing it.
private final class PoolJob<T>: @unchecked Sendable {
    let work: () throws -> T
    /// Written by the worker thread; read by the hub after `isDone`.
    var result: Result<T, any Error>?
    /// Touched on the hub's thread only.
    var waiter: AnyGreenlet?
    /// Set on the hub's thread when the worker's completion arrives.
    var isDone = false

    init(_ work: @escaping () throws -> T) { self.work = work }

    func execute() { result = Result { try work() } }
}

/// The queue and threads, apart from `ThreadPool` so that workers do not keep
/// the pool object alive.
private final class PoolState: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var queue: [() -> Void] = []
    private var head = 0
    private var idle = 0
    fileprivate var threads = 0
    private var stopping = false
    let maxThreads: Int

    init(maxThreads: Int) {
        self.maxThreads = maxThreads
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    /// Queues `job`, starting a thread when none is idle. False once shut down.
    func submit(_ job: @escaping () -> Void) -> Bool {
        pthread_mutex_lock(&mutex)
        if stopping {
            pthread_mutex_unlock(&mutex)
            return false
        }
        queue.append(job)
        let needThread = queue.count - head > idle && threads < maxThreads
        if needThread { threads += 1 }
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
        if needThread { startThread() }
        return true
    }

    func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
    }

    private func startThread() {
        if startOSThread(stackSize: 1 << 20, detached: true, { self.workerLoop() }) == nil {
            pthread_mutex_lock(&mutex)
            threads -= 1
            let orphaned = threads == 0 && head < queue.count
            pthread_mutex_unlock(&mutex)
            // With no thread at all, run here rather than lose the job.
            if orphaned { while let job = next(blocking: false) { job() } }
        }
    }

    private func next(blocking: Bool) -> (() -> Void)? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while head == queue.count {
            if stopping || !blocking { return nil }
            idle += 1
            pthread_cond_wait(&cond, &mutex)
            idle -= 1
        }
        let job = queue[head]
        head += 1
        if head > 64 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return job
    }

    private func workerLoop() {
        while let job = next(blocking: true) { job() }
        pthread_mutex_lock(&mutex)
        threads -= 1
        pthread_mutex_unlock(&mutex)
    }
}
