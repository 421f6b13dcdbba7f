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
/// joins the executor's queue of local jobs, which one hub callback runs per
/// batch (no atomic operation, no wake-up, no allocation per job); from any
/// other thread it enters through the hub's thread-safe entry
/// (`runThreadsafe`), which wakes the loop. The hub greenlet runs it between
/// greenlets, before it next polls libev, and the job runs until it suspends:
/// no greenlet switch happens inside it (a blocking green call there throws
/// `GreenError.blockingInHub`), so Swift's per-thread task state stays intact.
/// Jobs run one at a time, in the order they arrived from each thread: the
/// executor is serial.
///
/// Jobs run as nonisolated Task code on this task executor
/// (`runSynchronously(on:)`), not isolated to the serial executor, although
/// the same `enqueue` gets both kinds (Swift gives no way to tell them
/// apart): a Task that prefers the hub then moves between nonisolated async
/// functions with no new job, and a call into an actor on the hub returns to
/// its nonisolated caller with none; only a hop into an actor (even the same
/// one) takes a trip through `enqueue`. Mutual exclusion does not depend on
/// it: every job of this executor runs on the hub's thread, one at a time,
/// and Swift's runtime never runs an actor with a custom executor inline.
/// Isolation checks (`assumeIsolated`, `preconditionIsolated`) fall back to
/// `checkIsolated()`, which checks the thread.
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

    /// Jobs enqueued from the hub's own thread.
    private var local: HubJobQueue!

    init(hub: Hub) {
        self.hub = hub
        local = HubJobQueue(hub: hub) { [unowned(unsafe) self] job in
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// Schedules `job` on the hub. Any thread; never blocks, never switches.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if hub.isOnHubThread { return local.append(job) }
        let accepted = hub.runThreadsafe { [self] in
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
        if !accepted {
            Hub.logger.error("a Swift job was enqueued on a hub whose thread has ended; it was dropped")
        }
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
