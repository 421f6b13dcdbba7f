import CGreenContext

/// The task executor of a hub's `awaitAsync` workers (see `BridgeLane`): runs
/// their jobs on the hub's thread as plain nonisolated Task code
/// (`runSynchronously(on:)`), as `HubExecutor` runs its jobs, so a worker's
/// hops between nonisolated async functions (into the body, out of it) need
/// no new job: Swift's runtime switches only when the isolation or the task
/// executor changes, and neither does.
///
/// Why not `Hub.executor` itself: `runInline` takes the next job enqueued on
/// the hub's thread for itself; on an executor that only workers use, that
/// job can only be the worker it resumes, which is evident rather than argued
/// (during a resume nothing else enqueues anyway). Internal: users give Tasks
/// and actors `Hub.executor`.
///
/// Thread-safety: `enqueue` from any thread (as `HubExecutor.enqueue`);
/// `runInline` on the hub's thread only.
final class HubTaskExecutor: TaskExecutor, @unchecked Sendable {
    let hub: Hub

    /// Set by `runInline` while it wants the next job enqueued from the
    /// hub's thread for itself. Hub thread only.
    @exclusivity(unchecked)
    private var capturing = false
    @exclusivity(unchecked)
    private var captured: UnownedJob?

    /// Jobs enqueued from the hub's own thread.
    private var local: HubJobQueue!

    init(hub: Hub) {
        self.hub = hub
        local = HubJobQueue(hub: hub) { [unowned(unsafe) self] job in
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// Schedules `job` on the hub. Any thread; never blocks, never switches.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if hub.isOnHubThread {
            if capturing {
                capturing = false
                captured = job
                return
            }
            return local.append(job)
        }
        let accepted = hub.runThreadsafe { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
        if !accepted {
            Hub.logger.error("a Swift job was enqueued on a hub whose thread has ended; it was dropped")
        }
    }

    /// This executor as Swift's runtime refers to it.
    func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
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
        job.runSynchronously(on: asUnownedTaskExecutor())
        green_set_current(caller)
    }
}
