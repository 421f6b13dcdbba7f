import CGreenContext
import Glibc
import Logging

/// A hub as a Swift executor (SE-0392 `SerialExecutor`, SE-0417 `TaskExecutor`):
/// Swift actors and Tasks that use it run on the hub's thread, between its
/// greenlets, with no thread hop to and from green code.
///
/// ```swift
/// actor Tally {
///     let executor: HubExecutor
///     nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
///     init(on hub: Hub) { executor = hub.executor }
///     var count = 0
///     func add(_ n: Int) -> Int { count += n; return count }
/// }
/// ```
///
/// How a job runs: `enqueue` hands it to the hub. From the hub's own thread it
/// joins the hub's local callbacks (no atomic operation, no wake-up); from any
/// other thread it enters through the hub's thread-safe entry
/// (`runThreadsafe`), which wakes the loop. The hub greenlet runs it between
/// greenlets, before it next polls libev, and the job runs until it suspends:
/// no greenlet switch happens inside it (a blocking green call there throws
/// `GreenError.blockingInHub`), so Swift's per-thread task state stays intact.
/// Jobs run one at a time, in the order they arrived from each thread: the
/// executor is serial.
///
/// Isolation: green code runs on the same thread and never at the same time as
/// a job, so `actor.assumeIsolated { ... }` is sound in a greenlet of the
/// actor's hub (`checkIsolated()` checks the thread).
///
/// Thread-safety: `enqueue` may be called from any thread. Jobs enqueued after
/// the hub's thread has ended are dropped (and logged): keep the hub's thread
/// alive while actors or Tasks use its executor. The hub of `Green.run` lives
/// as long as the process (`Green.executor`).
public final class HubExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    /// The hub the jobs run on.
    public let hub: Hub

    /// Set by `runInline` (hub thread only) while it wants the next job
    /// enqueued from the hub's thread for itself.
    @exclusivity(unchecked)
    private var capturing = false
    @exclusivity(unchecked)
    private var captured: UnownedJob?

    init(hub: Hub) { self.hub = hub }

    /// Schedules `job` on the hub. Any thread; never blocks, never switches.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if capturing && hub.isOnHubThread {
            capturing = false
            captured = job
            return
        }
        let accepted = hub.enqueue { [self] in
            job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        }
        if !accepted {
            Hub.logger.error("a Swift job was enqueued on a hub whose thread has ended; it was dropped")
        }
    }

    /// Hub thread, outside any Task: calls `schedule` (which resumes or starts
    /// a Task that prefers this executor) and runs the job that it enqueues
    /// here and now, on the calling greenlet's stack, instead of queuing it
    /// for the hub greenlet. The job runs as the hub greenlet would run it: the
    /// hub greenlet is the thread's current greenlet meanwhile, so a blocking
    /// green call inside it throws `GreenError.blockingInHub` instead of
    /// switching (which Swift's per-thread task state forbids), and green work
    /// it starts (`Green.run`, `spawn`) goes to this hub. The job runs until
    /// the Task first suspends or ends; the caller goes on after that.
    /// Does not switch.
    func runInline(_ schedule: () -> Void) {
        capturing = true
        schedule()
        capturing = false
        guard let job = captured else { return }
        captured = nil
        let caller = green_get_current()
        green_set_current(hub.hot.pointee.hubRecord)
        job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        green_set_current(caller)
    }

    /// This executor as Swift's runtime refers to it.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// This executor as a task executor (for `Task(executorPreference:)`).
    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Traps unless called on the hub's thread (for `assumeIsolated` and
    /// `preconditionIsolated` from green code of this hub).
    public func checkIsolated() {
        precondition(hub.isOnHubThread, "Green: not on the thread of the hub this executor runs on")
    }
}

extension Hub {
    /// This hub as a Swift `SerialExecutor` and `TaskExecutor` (made on first
    /// use, one per hub).
    ///
    /// Call it on the hub's own thread (from green code); the executor itself
    /// may then be used from any thread. Does not switch.
    public var executor: HubExecutor {
        local(HubExecutor.self) { HubExecutor(hub: self) }
    }
}
