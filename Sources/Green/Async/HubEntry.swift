import CGreenContext
import Glibc

extension Hub {
    /// Whether the calling OS thread is this hub's thread.
    @inline(__always)
    var isOnHubThread: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Whether the hub greenlet is running on the calling thread: callbacks,
    /// watchers and the jobs of the hub's executor run there.
    @inline(__always)
    var isOnHubGreenlet: Bool {
        guard let rec = green_get_current() else { return false }
        return rec == hot.pointee.hubRecord
    }

    /// From any thread: runs `work` on this hub's greenlet soon. On the hub's
    /// own thread it joins the hub's local callbacks (no atomic, no wake-up of
    /// the loop: the hub runs them before it next polls); from another thread
    /// it goes through `runThreadsafe`.
    /// - Returns: false when the hub's thread has ended and `work` was dropped.
    /// - Note: never switches; `work` must not block.
    @discardableResult
    func enqueue(_ work: @escaping @Sendable () -> Void) -> Bool {
        if isOnHubThread {
            runCallback(work)
            return true
        }
        return runThreadsafe(work)
    }
}
