import Atomics
import Foundation
import Glibc
import Green
import Testing

/// A runtime that stops while another thread keeps starting greenlets on it:
/// every greenlet it accepted is run or unwound and freed. "CrossHub" in the
/// name: CI's ThreadSanitizer step runs it.
@Suite struct CrossHubStopTests {
    /// Counts its own release.
    private final class Tracker: @unchecked Sendable {
        let freed: ManagedAtomic<Int>
        init(_ freed: ManagedAtomic<Int>) { self.freed = freed }
        deinit { freed.wrappingIncrement(ordering: .relaxed) }
    }

    @Test func greenletsStartedWhileTheRuntimeStopsAreAllFreed() throws {
        for _ in 0..<20 {
            let runtime = try GreenRuntime(hubs: 2)
            let made = ManagedAtomic<Int>(0)
            let freed = ManagedAtomic<Int>(0)
            // Another thread stops the runtime once starts are under way; this
            // one starts up to 3,000 greenlets on hub 1, until the runtime
            // refuses them.
            let stopped = DispatchSemaphore(value: 0)
            let stopper = Thread {
                while made.load(ordering: .relaxed) < 200 { sched_yield() }
                runtime.stop()
                stopped.signal()
            }
            stopper.start()
            for _ in 0..<3000 {
                let tracker = Tracker(freed)
                made.wrappingIncrement(ordering: .relaxed)
                do {
                    _ = try runtime.spawn(on: .hub(1)) {
                        _ = tracker
                        try sleep(.seconds(600))
                    }
                } catch {
                    break // GreenError.hubGone: the runtime has stopped
                }
            }
            stopped.wait()
            #expect(freed.load(ordering: .relaxed) == made.load(ordering: .relaxed),
                    "every greenlet the runtime accepted was unwound and freed")
        }
    }
}
