import CLibev
import Glibc

/// The process-wide hub that `Green.run` uses: a hub on a thread of its own,
/// started on first use and never stopped.
///
/// Its root greenlet parks forever and the hub holds one permanent reference
/// on its libev loop, so it never reports `wouldBlockForever`: it waits for
/// work from `runThreadsafe` (greenlets to start, jobs of its executor).
/// The thread is detached: it does not keep the process alive, and at exit
/// it ends with the process like any other thread (greenlets still parked on
/// it are not unwound; nothing is buffered there to flush).
enum AsyncHub {
    /// The hub, started by the first caller (thread-safe: a Swift global's
    /// one-time initialization).
    static let shared: (hub: Hub, executor: HubExecutor) = start()

    private static func start() -> (hub: Hub, executor: HubExecutor) {
        final class Handoff: @unchecked Sendable {
            var hub: Hub?
            var executor: HubExecutor?
            var ready = sem_t()
        }
        let handoff = Handoff()
        sem_init(&handoff.ready, 0, 0)
        let thread = startOSThread(stackSize: 1 << 20, detached: true) {
            let hub = Hub.current
            ev_ref(hub.loop)
            handoff.executor = hub.executor
            handoff.hub = hub
            sem_post(&handoff.ready)
            while true { _ = try? hub.park() }
        }
        precondition(thread != nil, "Green: cannot start the thread of Green.run's hub")
        while sem_wait(&handoff.ready) != 0 {}
        sem_destroy(&handoff.ready)
        return (handoff.hub!, handoff.executor!)
    }
}
