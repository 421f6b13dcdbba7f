/// The jobs an executor of a hub (`HubExecutor`, `HubTaskExecutor`) gets from
/// the hub's own thread, run in order by one hub callback per batch instead
/// of one closure (an allocation) and one callback per job.
///
/// Hub thread only: `append` is called by `enqueue` on the hub's thread; the
/// batch runs on the hub greenlet (from the hub's callbacks), like every
/// callback. Jobs enqueued while a batch runs join it: they run in the same
/// pass, as callbacks added while the hub runs its callbacks do.
final class HubJobQueue {
    private unowned(unsafe) let hub: Hub
    /// Runs one job as the executor runs it.
    private let runJob: (UnownedJob) -> Void
    @exclusivity(unchecked)
    private var pending: [UnownedJob] = []
    /// The batch being run (kept to reuse its storage).
    @exclusivity(unchecked)
    private var running: [UnownedJob] = []
    @exclusivity(unchecked)
    private var scheduled = false
    /// The callback, made once.
    @exclusivity(unchecked)
    private var drainCallback: (() -> Void)?

    init(hub: Hub, runJob: @escaping (UnownedJob) -> Void) {
        self.hub = hub
        self.runJob = runJob
    }

    /// Hub thread: queues `job` to run on the hub greenlet soon.
    func append(_ job: UnownedJob) {
        pending.append(job)
        guard !scheduled else { return }
        scheduled = true
        if drainCallback == nil { drainCallback = { [unowned(unsafe) self] in self.drain() } }
        hub.runCallback(drainCallback!)
    }

    /// Hub greenlet: runs the queued jobs, oldest first, and those they
    /// enqueue meanwhile (a Task's hop between isolations re-enqueues it: it
    /// runs in the same pass, as it did among the hub's callbacks).
    private func drain() {
        while !pending.isEmpty {
            swap(&pending, &running)
            for job in running { runJob(job) }
            running.removeAll(keepingCapacity: true)
        }
        scheduled = false
    }
}
